import { describe, expect, it } from 'vitest';
import {
  nondominatedFrontier,
  sweepFrontier,
  SWEEP_PENALTIES,
  type Scored,
  uniquePrompts,
} from '../../src/dream/frontier.ts';
import { MemorySink } from '../../src/dream/memory-sink.ts';
import { dream } from '../../src/dream/run.ts';
import { Rng } from '../../src/graph/rng.ts';
import { loadModel } from '../../src/models/load.ts';

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

/** The sweep as the reference computes it (and as sweepFrontier did before its hull): every point at every λ. */
function referenceSweep<T extends Scored>(points: readonly T[]): T[] {
  const winners = new Set<T>();
  const scored = points.filter((p) => Number.isFinite(p.target) && Number.isFinite(p.xent));
  for (const penalty of SWEEP_PENALTIES) {
    let best: T | undefined;
    let bestScore = -Infinity;
    for (const p of scored) {
      const score = p.target - penalty * p.xent;
      if (score > bestScore) [best, bestScore] = [p, score];
    }
    if (best) winners.add(best);
  }
  return [...winners].sort((a, b) => a.xent - b.xent);
}

/** Random points with ties: repeated points, equal cross-entropies, and points tied at one of the penalties. */
function pointsWithTies(rng: Rng, n: number): (Scored & { id: number })[] {
  const points: (Scored & { id: number })[] = [];
  const add = (target: number, xent: number) => points.push({ target, xent, id: points.length });
  for (let i = 0; i < n; i++) {
    const kind = rng.float();
    const other = points[Math.floor(rng.float() * points.length)];
    if (other && kind < 0.1)
      add(other.target, other.xent); // the same point again
    else if (other && kind < 0.2)
      add(other.target - rng.float(), other.xent); // same xent, lower
    else if (other && kind < 0.3) {
      // on the line through `other` of slope λ: tied with it at λ (up to rounding, which decides)
      const penalty = SWEEP_PENALTIES[Math.floor(rng.float() * 999)]!;
      const dx = Math.round(rng.uniform(-4, 4) * 8) / 8;
      add(other.target + penalty * dx, other.xent + dx);
    } else if (kind < 0.4) add(Math.round(rng.uniform(0, 8)), Math.round(rng.uniform(2, 10)));
    else add(rng.uniform(-2, 8), rng.uniform(2, 12));
  }
  return points;
}

describe('the penalty sweep over the upper convex hull', () => {
  it('gives exactly the reference’s winners on random points with ties', () => {
    const rng = new Rng(11);
    for (const n of [0, 1, 2, 3, 5, 10, 50, 200, 1000, 5000]) {
      for (let trial = 0; trial < (n < 1000 ? 20 : 3); trial++) {
        const points = pointsWithTies(rng, n);
        expect(sweepFrontier(points)).toEqual(referenceSweep(points));
      }
    }
  });

  it('breaks a tie at a penalty as the reference does: the first of the tied points, in the given order', () => {
    let ties = 0;
    for (const [k, penalty] of SWEEP_PENALTIES.entries()) {
      if (k % 37 !== 0) continue;
      for (const dx of [0.5, 1, 2, 4]) {
        const a = { target: 5, xent: 3 };
        const b = { target: 5 + penalty * dx, xent: 3 + dx }; // tied with a at `penalty`, if rounding agrees
        if (a.target - penalty * a.xent !== b.target - penalty * b.xent) continue;
        ties++;
        for (const points of [
          [b, a, { target: 1, xent: 1 }, { target: 4, xent: 3.5 }],
          [a, b, { target: 1, xent: 1 }],
          [{ target: 9, xent: 20 }, b, { ...a }, a],
        ])
          expect(sweepFrontier(points)).toEqual(referenceSweep(points));
      }
    }
    expect(ties).toBeGreaterThan(10);
  });

  it('keeps a point dominated by a rounding error, which the reference’s rounding may let win', () => {
    const rng = new Rng(3);
    for (const n of [2, 40, 2000]) {
      const first = { target: 1, xent: 10 };
      const later = { target: 1 + Number.EPSILON, xent: 10 }; // at λ = 20 both score −199 once rounded
      const points = Array.from({ length: n }, () => ({
        target: rng.uniform(-100, -50),
        xent: rng.uniform(10, 20),
      }));
      points[0] = first;
      points[Math.min(7, n - 1)] = later; // where the sample of a large set looks
      const sweep = sweepFrontier(points);
      expect(sweep).toEqual(referenceSweep(points));
      expect(sweep).toContain(first);
    }
  });

  it('gives exactly the reference’s winners on points all on the hull, and on one line', () => {
    const curve = Array.from({ length: 300 }, (_, i) => ({ target: Math.sqrt(i + 1), xent: i / 10 }));
    expect(sweepFrontier(curve)).toEqual(referenceSweep(curve));
    const line = Array.from({ length: 300 }, (_, i) => ({ target: 1 + 0.5 * i, xent: 2 + i }));
    expect(sweepFrontier(line)).toEqual(referenceSweep(line));
    const reversed = [...line].reverse();
    expect(sweepFrontier(reversed)).toEqual(referenceSweep(reversed));
    const tiny = Array.from({ length: 300 }, (_, i) => ({
      target: 1e-12 * ((i * 7919) % 300),
      xent: 1e-9 * i,
    }));
    expect(sweepFrontier(tiny)).toEqual(referenceSweep(tiny));
  });

  it('gives exactly the reference’s winners on the history of a real dream', async () => {
    const model = await loadModel('karpathy/tinyllamas/stories260K');
    const sink = new MemorySink();
    await dream({
      model,
      target: 'blocks.4.mlp.hook_post[0]',
      options: { iters: 12, seed: 5, threads: 1 },
      sink,
    });
    const candidates = sink.history.flatMap((r) => r.candidates);
    expect(candidates.length).toBeGreaterThan(3000);
    const sweep = sweepFrontier(candidates);
    expect(sweep).toEqual(referenceSweep(candidates));
    expect(sweep.length).toBeGreaterThan(1);
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

describe('uniquePrompts', () => {
  it('keeps each prompt once, at its first values, across calls through `seen`', () => {
    const seen = new Set<string>();
    const first = uniquePrompts(
      [
        { ids: [1, 2], target: 1, xent: 2 },
        { ids: [1, 2], target: 1.0000001, xent: 2 },
        { ids: [2, 1], target: 0, xent: 1 },
      ],
      seen,
    );
    expect(first.map((c) => c.target)).toEqual([1, 0]);
    expect(
      uniquePrompts(
        [
          { ids: [2, 1], target: 5, xent: 0 },
          { ids: [3], target: 2, xent: 2 },
        ],
        seen,
      ),
    ).toEqual([{ ids: [3], target: 2, xent: 2 }]);
  });
});
