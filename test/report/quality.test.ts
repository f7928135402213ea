import { describe, expect, it } from 'vitest';
import type { IterationRecord } from '../../src/dream/epo.ts';
import { fluentBest, frontierScore, scoreTrace, VersusDataset } from '../../src/report/quality.ts';

/** An iteration of `seconds` that evaluated these (target, xent) candidates. */
const record = (seconds: number, points: [number, number][]): IterationRecord => ({
  iter: 0,
  candidates: points.map(([target, xent]) => ({ ids: [], target, xent })),
  keep: [],
  seconds,
  rng: [],
  evaluated: points.length,
  dropped: 0,
});

describe('the quality measurement', () => {
  it('takes the best activation at or below the fluency bar, and when it first beat the top example', () => {
    const history = [
      record(1, [
        [5, 6], // too disfluent
        [1, 3],
      ]),
      record(2, [[1.5, 3.5]]),
      record(3, [[2.5, 3.5]]),
    ];
    expect(fluentBest(history, 3.5, 2)).toEqual({ best: 2.5, secondsToWin: 6 });
    expect(fluentBest(history, 3.5, 3)).toEqual({ best: 2.5, secondsToWin: null });
    expect(fluentBest(history, 2, 0)).toEqual({ best: null, secondsToWin: null });
  });

  it('scores a frontier as the mean over λ of the best target − λ·xent, and traces it over iterations', () => {
    const points = [
      { target: 4, xent: 4 },
      { target: 1, xent: 1 },
    ];
    // λ = 0.25: max(3, 0.75); 0.5: max(2, 0.5); 1: max(0, 0); 2: max(−4, −1)
    expect(frontierScore(points)).toBeCloseTo((3 + 2 + 0 - 1) / 4, 12);
    const trace = scoreTrace([record(1, [[1, 1]]), record(2, [[4, 4]])]);
    expect(trace.map((t) => t.seconds)).toEqual([1, 3]);
    expect(trace[0]!.score).toBeCloseTo(frontierScore([{ target: 1, xent: 1 }]), 12);
    expect(trace[1]!.score).toBeCloseTo(frontierScore(points), 12);
  });

  it('shows the comparison with the dataset as a line', () => {
    const versus = new VersusDataset(3.5, 5);
    expect(versus.text()).toBe('vs dataset: best ≤ median xent 3.500: — (top example 5.000)');
    versus.observe([
      { target: 6, xent: 4 },
      { target: 4.25, xent: 3.5 },
    ]);
    expect(versus.text()).toBe('vs dataset: best ≤ median xent 3.500: 4.250 (top example 5.000, -0.750)');
  });
});
