/**
 * A perplexity filter's threshold from a corpus: the cross-entropy below which a quantile of the corpus's
 * windows fall. A deployed model may refuse every query more perplexing than (say) 99.99 % of real ones; a
 * fluent attack must pass that bar. The windows are a dream's (`window` tokens with its BOS policy) and their
 * xent is the dream's (the fitness program's mean next-token cross-entropy), so a prompt and the threshold
 * compare like for like.
 */
import { input } from '../graph/index.ts';
import { meanXent } from '../dream/engine/programs.ts';
import { compile } from '../runtime/index.ts';
import { FeatureStatsAccumulator, type FeatureStats } from './feature-stats.ts';
import {
  CorpusPass,
  DEFAULT_SCAN_OPTIONS,
  scanBasics,
  ScanError,
  scoreWindows,
  windowLength,
  type ScanRequest,
  type ScanTotals,
} from './scan.ts';

export interface ThresholdRequest extends Omit<ScanRequest, 'target' | 'top'> {
  /** The quantiles asked for, each in (0, 1] (default 0.99). */
  quantiles?: readonly number[];
}

export interface ThresholdResult extends ScanTotals {
  model: string;
  window: number;
  /** Each quantile q and its threshold: the ⌈q·windows⌉-th smallest window xent, exactly. */
  thresholds: { q: number; xent: number }[];
  /** The windows' xent: count, min, max, mean and a histogram (feature-stats.ts). */
  stats: FeatureStats;
}

/** The ⌈q·n⌉-th smallest of sorted values (numpy's 'inverted_cdf'). */
export function quantileOfSorted(sorted: Float32Array, q: number): number {
  const rank = Math.max(1, Math.ceil(q * sorted.length));
  return sorted[rank - 1] as number;
}

/**
 * Scans every window of the corpus for its cross-entropy and returns the thresholds of the quantiles. Every
 * window's xent is kept (4 bytes a window) so that the quantiles are exact.
 */
export async function xentThreshold(request: ThresholdRequest): Promise<ThresholdResult> {
  const quantiles = request.quantiles ?? [0.99];
  for (const q of quantiles)
    if (!(typeof q === 'number' && q > 0 && q <= 1))
      throw new ScanError(`a quantile must be a number in (0, 1], got ${String(q)}`);
  const { model } = request;
  const { tokenizer, batchSize, bos, prefix } = scanBasics(request);
  const window = request.window ?? DEFAULT_SCAN_OPTIONS.window;
  const length = windowLength(model, window, prefix);
  const pass = new CorpusPass(request, tokenizer);
  const ids = input('ids', 'int64', ['B', length]);
  const session = await compile({
    outputs: { xent: meanXent(model.build({ tokens: ids, hooks: [] }), ids, model.config.vocabSize) },
    ...(request.threads && { threads: request.threads }),
  });
  let xents = new Float32Array(1 << 16);
  const stats = new FeatureStatsAccumulator(1);
  await scoreWindows(pass, session, { window, batchSize, prefix, length }, (batch, out) => {
    const xent = out.xent?.data as Float32Array;
    if (pass.windows + batch.length > xents.length) {
      const grown = new Float32Array(Math.max(2 * xents.length, pass.windows + batch.length));
      grown.set(xents);
      xents = grown;
    }
    xents.set(xent.subarray(0, batch.length), pass.windows);
    stats.add(xent, batch.length);
  });
  if (pass.windows === 0)
    throw new ScanError(`the corpus holds no window of ${window} tokens: a threshold needs at least one`);
  const sorted = xents.subarray(0, pass.windows).sort();
  return {
    model: model.id,
    window,
    ...pass.totals(bos),
    thresholds: quantiles.map((q) => ({ q, xent: quantileOfSorted(sorted, q) })),
    stats: stats.stats(0, quantiles),
  };
}
