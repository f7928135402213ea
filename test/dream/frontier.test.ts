import { describe, expect, it } from 'vitest';
import { nondominatedFrontier, sweepFrontier, SWEEP_PENALTIES } from '../../src/dream/frontier.ts';
import { Rng } from '../../src/graph/rng.ts';

const rng = new Rng(7);
const points = Array.from({ length: 400 }, () => ({ target: rng.uniform(-2, 8), xent: rng.uniform(2, 12) }));

const dominates = (a: (typeof points)[0], b: (typeof points)[0]) =>
  a.target >= b.target && a.xent <= b.xent && (a.target > b.target || a.xent < b.xent);

describe('the Pareto frontier', () => {
  it('keeps exactly the points no other point dominates', () => {
    const brute = points.filter((p) => !points.some((q) => dominates(q, p)));
    const frontier = nondominatedFrontier(points);
    expect(new Set(frontier)).toEqual(new Set(brute));
    frontier.slice(1).forEach((p, i) => {
      expect(p.xent).toBeGreaterThan(frontier[i]!.xent);
      expect(p.target).toBeGreaterThan(frontier[i]!.target);
    });
  });

  it('sweeps the reference penalties λ = 1/linspace(0, 50, 1000)[1:] and keeps each one’s best', () => {
    expect(SWEEP_PENALTIES).toHaveLength(999);
    expect(SWEEP_PENALTIES[0]).toBeCloseTo(999 / 50, 10);
    expect(SWEEP_PENALTIES.at(-1)).toBeCloseTo(1 / 50, 10);
    const sweep = sweepFrontier(points);
    const nondominated = new Set(nondominatedFrontier(points));
    for (const p of sweep) expect(nondominated.has(p)).toBe(true);
    for (const penalty of [SWEEP_PENALTIES[0]!, SWEEP_PENALTIES[500]!, SWEEP_PENALTIES[998]!]) {
      const best = points.reduce((a, b) =>
        b.target - penalty * b.xent > a.target - penalty * a.xent ? b : a,
      );
      expect(sweep).toContain(best);
    }
  });
});

describe('the seeded generator', () => {
  it('replays from a stored state', () => {
    const a = new Rng(3);
    a.float();
    const b = new Rng(a.state());
    expect(Array.from({ length: 5 }, () => a.nextUint32())).toEqual(
      Array.from({ length: 5 }, () => b.nextUint32()),
    );
  });
});

describe('points without a number (a NaN read back from JSON as null)', () => {
  it('are skipped by both frontiers', () => {
    const broken = [
      { target: null as unknown as number, xent: 3 },
      { target: 5, xent: Number.NaN },
      { target: 2, xent: 4 },
    ];
    expect(nondominatedFrontier(broken)).toEqual([{ target: 2, xent: 4 }]);
    expect(sweepFrontier(broken)).toEqual([{ target: 2, xent: 4 }]);
  });
});
