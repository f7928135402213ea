/**
 * Streaming statistics of many features in fixed memory (no buffer of the values): count, max, min, mean and
 * the fraction of positive values exactly; quantiles and a histogram from a per-feature histogram of `bins`
 * equal-width bins whose range widens as values arrive.
 *
 * The histogram: a value v falls in bin ⌊(v − lo)/w⌋. A value outside [lo, lo + bins·w) doubles w, merging
 * adjacent pairs of bins, and extends the range on the value's side (up: lo stays; down: lo − bins·w), until
 * it fits. Every bin of the old range lies inside one bin of the new, so the counts stay exact; w is a power
 * of two and lo a multiple of it, so the bin edges are exact in float64. Accuracy: the q-quantile reported
 * lies in the same final bin as the exact one (the ⌈q·n⌉-th smallest value, numpy's 'inverted_cdf'), so they
 * differ by less than one final bin width, reported as `resolution`. The range starts around the first value
 * with a bin per float32 step there, and only doubles when a value falls outside it: the resolution follows
 * the spread of the values: typically 1–3 × (max − min)/bins (a test checks ≤ 8×), or a float32 step or two.
 */

/** A value that no histogram can hold (NaN or ±Infinity). */
export class FeatureStatsError extends Error {
  override name = 'FeatureStatsError';
}

/** The numbers shown next to a feature (as Neuronpedia and SAELens show them). */
export interface FeatureStats {
  /** Values seen: windows, or positions in document mode. */
  count: number;
  /** null while count is 0. */
  max: number | null;
  min: number | null;
  mean: number | null;
  /** The fraction of values > 0 (0 while count is 0). */
  positive: number;
  /** The q-quantiles asked for (the ⌈q·count⌉-th smallest value), each within `resolution`; none while count is 0. */
  quantiles: { q: number; value: number }[];
  /** The internal bin width: how far a quantile may be from the exact one. */
  resolution: number;
  /** The non-empty extent in ≤ 64 equal bins: bin i counts values in [lo + i·width, lo + (i+1)·width). */
  histogram: { lo: number; width: number; counts: number[] };
}

export const DEFAULT_QUANTILES: readonly number[] = [0.5, 0.9, 0.99, 0.999];
/** Internal bins per feature (even). */
export const DEFAULT_BINS = 1024;
/** Bins of the reported histogram, at most. */
export const REPORTED_BINS = 64;

export class FeatureStatsAccumulator {
  private count = 0;
  private readonly sum: Float64Array;
  private readonly max: Float64Array;
  private readonly min: Float64Array;
  private readonly positive: Float64Array;
  private readonly lo: Float64Array;
  private readonly width: Float64Array;
  private readonly inverse: Float64Array;
  /** [features × bins]. */
  private readonly counts: Uint32Array;

  constructor(
    readonly features: number,
    readonly bins = DEFAULT_BINS,
  ) {
    if (!Number.isInteger(bins) || bins < 2 || bins % 2 !== 0)
      throw new FeatureStatsError(`bins must be an even integer ≥ 2, got ${bins}`);
    this.sum = new Float64Array(features);
    this.max = new Float64Array(features).fill(-Infinity);
    this.min = new Float64Array(features).fill(Infinity);
    this.positive = new Float64Array(features);
    this.lo = new Float64Array(features).fill(NaN); // NaN: no value yet, so the first one takes the slow path
    this.width = new Float64Array(features);
    this.inverse = new Float64Array(features);
    this.counts = new Uint32Array(features * bins);
  }

  /** Adds `rows` rows of `features` values each, row-major from `offset` of `values`. */
  add(values: Float32Array, rows: number, offset = 0): void {
    const F = this.features;
    const N = this.bins;
    const { sum, max, min, positive, lo, inverse, counts } = this;
    for (let r = 0; r < rows; r++) {
      const base = offset + r * F;
      for (let f = 0; f < F; f++) {
        const v = values[base + f] as number;
        sum[f]! += v;
        if (v > (max[f] as number)) max[f] = v;
        if (v < (min[f] as number)) min[f] = v;
        if (v > 0) positive[f]!++;
        const bin = Math.floor((v - (lo[f] as number)) * (inverse[f] as number));
        if (bin >= 0 && bin < N) counts[f * N + bin]!++;
        else this.widen(f, v);
      }
    }
    this.count += rows;
  }

  /** Counts v, which falls outside feature f's range (or is its first value): widens the range until it fits. */
  private widen(f: number, v: number): void {
    if (!Number.isFinite(v)) throw new FeatureStatsError(`feature ${f}: ${v} is not a finite number`);
    const N = this.bins;
    const counts = this.counts.subarray(f * N, (f + 1) * N);
    if (this.width[f] === 0) {
      // A bin per float32 step at v (2^(e−23) for 2^e ≤ |v| < 2^(e+1)): as fine as the values can be apart.
      const e = Math.floor(Math.log2(Math.max(Math.abs(v), 2 ** -30)));
      const w = 2 ** (e - 23);
      this.setWidth(f, w);
      this.lo[f] = Math.floor(v / w) * w - (N / 2) * w;
    }
    for (;;) {
      const w = this.width[f] as number;
      const bin = Math.floor((v - (this.lo[f] as number)) / w);
      if (bin >= 0 && bin < N) {
        counts[bin]!++;
        return;
      }
      if (bin >= N) {
        for (let i = 0; i < N / 2; i++) counts[i] = (counts[2 * i] as number) + (counts[2 * i + 1] as number);
        counts.fill(0, N / 2);
      } else {
        for (let i = N / 2 - 1; i >= 0; i--)
          counts[N / 2 + i] = (counts[2 * i] as number) + (counts[2 * i + 1] as number);
        counts.fill(0, 0, N / 2);
        this.lo[f] = (this.lo[f] as number) - N * w;
      }
      this.setWidth(f, 2 * w);
    }
  }

  private setWidth(f: number, w: number): void {
    this.width[f] = w;
    this.inverse[f] = 1 / w;
  }

  /** Feature f's statistics so far. */
  stats(f: number, quantiles: readonly number[] = DEFAULT_QUANTILES): FeatureStats {
    const n = this.count;
    if (n === 0)
      return {
        count: 0,
        max: null,
        min: null,
        mean: null,
        positive: 0,
        quantiles: [],
        resolution: 0,
        histogram: { lo: 0, width: 0, counts: [] },
      };
    const N = this.bins;
    const counts = this.counts.subarray(f * N, (f + 1) * N);
    const lo = this.lo[f] as number;
    const w = this.width[f] as number;
    const [min, max] = [this.min[f] as number, this.max[f] as number];
    return {
      count: n,
      max,
      min,
      mean: (this.sum[f] as number) / n,
      positive: (this.positive[f] as number) / n,
      quantiles: quantiles.map((q) => ({ q, value: quantile(counts, lo, w, n, q, min, max) })),
      resolution: w,
      histogram: coarsen(counts, lo, w),
    };
  }
}

/** The rank of the q-quantile among n sorted values, 1-based: ⌈q·n⌉, at least 1. */
export const quantileRank = (q: number, n: number): number => Math.min(n, Math.max(1, Math.ceil(q * n)));

/** The q-quantile: the value of rank ⌈q·n⌉, placed within its bin by linear interpolation over the bin's count. */
function quantile(
  counts: Uint32Array,
  lo: number,
  w: number,
  n: number,
  q: number,
  min: number,
  max: number,
): number {
  const k = quantileRank(q, n);
  let before = 0;
  for (let j = 0; j < counts.length; j++) {
    const c = counts[j] as number;
    if (before + c >= k) {
      const value = lo + (j + (k - before - 0.5) / c) * w;
      return Math.min(max, Math.max(min, value));
    }
    before += c;
  }
  return max;
}

/** The non-empty extent of the bins, in at most REPORTED_BINS groups of equally many bins. */
function coarsen(counts: Uint32Array, lo: number, w: number): FeatureStats['histogram'] {
  let first = 0;
  while (counts[first] === 0) first++;
  let last = counts.length - 1;
  while (counts[last] === 0) last--;
  const group = Math.ceil((last - first + 1) / REPORTED_BINS);
  const out = new Array<number>(Math.ceil((last - first + 1) / group)).fill(0);
  for (let j = first; j <= last; j++) out[Math.floor((j - first) / group)]! += counts[j] as number;
  return { lo: lo + first * w, width: group * w, counts: out };
}
