import { describe, expect, it } from 'vitest';
import {
  FeatureStatsAccumulator,
  FeatureStatsError,
  quantileRank,
  REPORTED_BINS,
} from '../../src/data/feature-stats.ts';

/** mulberry32: a small seeded generator of uniforms in [0, 1). */
function uniform(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const n = 20_000;
const u = uniform(7);
const normal = () => Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
/** Feature columns of very different shapes: what activations look like, and harder. */
const shapes: ((i: number) => number)[] = [
  () => normal(),
  () => -10 * Math.log(1 - u()), // exponential, long right tail
  () => (u() < 0.7 ? 0 : 3 * normal() + 5), // a spike of exact zeros and a bump
  () => 1000 + u() * 1e-3, // narrow, far from 0
  () => -2.5, // constant
  (i) => (i < n / 2 ? 1e-6 * normal() : 1e4 * normal()), // the scale jumps midway
];
const F = shapes.length;
const values = new Float32Array(n * F);
for (let i = 0; i < n; i++) for (let f = 0; f < F; f++) values[i * F + f] = shapes[f]!(i);
const column = (f: number) => Array.from({ length: n }, (_, i) => values[i * F + f]!);

describe('streaming feature statistics', () => {
  const stats = new FeatureStatsAccumulator(F);
  // in uneven chunks, as batches arrive
  for (let row = 0; row < n;) {
    const rows = Math.min(n - row, 1 + ((row * 7919) % 300));
    stats.add(values, rows, row * F);
    row += rows;
  }

  it('keep count, max, min, mean and the fraction positive exactly', () => {
    for (let f = 0; f < F; f++) {
      const xs = column(f);
      const s = stats.stats(f);
      expect(s.count).toBe(n);
      expect(s.max).toBe(xs.reduce((a, b) => Math.max(a, b)));
      expect(s.min).toBe(xs.reduce((a, b) => Math.min(a, b)));
      expect(s.mean).toBe(xs.reduce((a, b) => a + b, 0) / n);
      expect(s.positive).toBe(xs.filter((x) => x > 0).length / n);
    }
  });

  it('give quantiles within one bin width (the resolution) of the exact ones', () => {
    const qs = [0, 0.001, 0.1, 0.5, 0.9, 0.99, 0.999, 1];
    for (let f = 0; f < F; f++) {
      const sorted = column(f).sort((a, b) => a - b);
      const s = stats.stats(f, qs);
      expect(s.resolution).toBeGreaterThan(0);
      for (const { q, value } of s.quantiles) {
        const exact = sorted[quantileRank(q, n) - 1]!;
        expect(Math.abs(value - exact), `feature ${f}, q = ${q}`).toBeLessThanOrEqual(s.resolution);
      }
      // the bound means something: the bins are not much wider than the spread of the values needs (or than
      // a float32 step, where the values are that close)
      const span = sorted[n - 1]! - sorted[0]!;
      const step = 2 ** -22 * Math.max(Math.abs(sorted[0]!), Math.abs(sorted[n - 1]!));
      expect(s.resolution).toBeLessThanOrEqual(Math.max((8 * span) / stats.bins, step));
    }
  });

  it('report the histogram of the non-empty extent in at most 64 bins, every value counted in its bin', () => {
    for (let f = 0; f < F; f++) {
      const { histogram } = stats.stats(f);
      expect(histogram.counts.length).toBeGreaterThan(0);
      expect(histogram.counts.length).toBeLessThanOrEqual(REPORTED_BINS);
      expect(histogram.counts[0]).toBeGreaterThan(0);
      expect(histogram.counts.at(-1)).toBeGreaterThan(0);
      const counts = new Array<number>(histogram.counts.length).fill(0);
      for (const x of column(f)) counts[Math.floor((x - histogram.lo) / histogram.width)]!++;
      expect(counts).toEqual(histogram.counts);
    }
  });

  it('are the same however the values are batched', () => {
    const once = new FeatureStatsAccumulator(F);
    once.add(values, n);
    for (let f = 0; f < F; f++) expect(once.stats(f)).toEqual(stats.stats(f));
  });

  it('are empty before any value, and refuse values that are not finite', () => {
    const empty = new FeatureStatsAccumulator(2).stats(1);
    expect(empty).toMatchObject({ count: 0, max: null, mean: null, positive: 0, quantiles: [] });
    const bad = new FeatureStatsAccumulator(2);
    expect(() => bad.add(Float32Array.of(1, NaN), 1)).toThrow(FeatureStatsError);
    expect(() => bad.add(Float32Array.of(Infinity, 1), 1)).toThrow(
      /feature 0: Infinity is not a finite number/,
    );
  });
});
