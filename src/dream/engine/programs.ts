import {
  add,
  argMax,
  cast,
  concat,
  constant,
  exp,
  gatherElements,
  GraphError,
  greater,
  greaterOrEqual,
  input,
  less,
  log,
  logSoftmax,
  mul,
  neg,
  reduceMax,
  reduceMean,
  reduceSum,
  reshape,
  slice,
  squeeze,
  sub,
  unsqueeze,
  where,
  type Dim,
  type Node,
} from '../../graph/index.ts';
import type { BuildResult, Model } from '../../models/model.ts';
import type { Target } from '../../objectives/target.ts';
import { targetValue, type PositionView } from './target-views.ts';

export interface ProgramOptions {
  /** Tokens per sequence fed to the model, BOS included. */
  length: number;
  /** Leading positions that are fixed (a BOS, a template's opening), excluded from the gradient's top-k. */
  fixedPrefix: number;
  /**
   * Trailing positions that are fixed (a template's ending, a continuation target's text; default 0): never
   * proposed, and outside the xent, which scores the optimized tokens in their context (xentSpan).
   */
  fixedSuffix?: number;
  topk: number;
  /** Per vocabulary row: true when the token may never be proposed. */
  banned: readonly boolean[];
  /** The fitness program's final-token argmax (default true). */
  argmax?: boolean;
  /** The gradient program also returns what incremental evaluation reuses (see gradientProgram). */
  cache?: boolean;
  /** The gradient program also returns each position's `topk` likeliest tokens under the model (see gradientProgram). */
  likely?: boolean;
  /**
   * The gradient program takes penalties λ = 0 (GCG at penalty 0), which drop the label term: it is then
   * weighted per member, at the cost of a slower pass over the vocabulary. Without it, every λ must be > 0.
   */
  zeroPenalties?: boolean;
  /**
   * The gradient program returns its ranking's scores instead of its top-k (`favour` [B,S,V], and with
   * `likely` the model's `likelyScores`), for runs over several contexts, whose scores add up before ranking
   * (contexts.ts).
   */
  scores?: boolean;
}

/**
 * The positions [first, end) whose tokens the xent scores: the optimized ones (after the fixed prefix, before
 * the fixed suffix) that have a prediction, so position 0 only where nothing comes before it.
 */
export function xentSpan({ length, fixedPrefix, fixedSuffix = 0 }: ProgramOptions): {
  first: number;
  end: number;
} {
  return { first: Math.max(fixedPrefix, 1), end: length - fixedSuffix };
}

/** The full build's final norm and unembedding. */
export function head(result: BuildResult): {
  normalized: Node;
  unembed: (hidden: Node, from?: number, to?: number) => Node;
  unembedding: Node;
} {
  const { normalized, unembed, unembedding } = result;
  if (!normalized || !unembed || !unembedding) throw new GraphError('the model build returned no logits');
  return { normalized, unembed, unembedding };
}

/** Rows [from, to) of the token axis of [B,T,F]. */
export const rows = (x: Node, from: number, to: number): Node => slice(x, [1], [from], [to]);

/** Vocabulary entries per block of logits formed at once when only next-token log-probabilities are needed. */
export const VOCAB_BLOCK = 8192;

/**
 * log p(next | row) [B,L] for final-norm rows `hidden` [B,L,D] and int64 `next` [B,L], forming the logits
 * one block of the vocabulary at a time ([B,L,Vb], never [B,L,V]: for a large vocabulary the logits are
 * by far the largest buffer of a run). For block c of entries [a, b), its log-softmax (computed in place)
 * gives its log-sum-exp s_c = ℓ_a − logsoftmax_c(a) and, where a ≤ next < b, ℓ_next = logsoftmax_c(next) + s_c;
 * then log p(next) = ℓ_next − log Σ_c exp(s_c).
 */
export function nextLogProbs(
  hidden: Node,
  next: Node,
  unembed: (hidden: Node, from?: number, to?: number) => Node,
  vocab: number,
  block = VOCAB_BLOCK,
): Node {
  const blocks = Math.ceil(vocab / block);
  if (blocks === 1) {
    const logProbs = logSoftmax(unembed(hidden), -1); // [B,L,V]
    return squeeze(gatherElements(logProbs, unsqueeze(next, [2]), 2), [2]); // [B,L]
  }
  const width = Math.ceil(vocab / blocks);
  const perBlock: Node[] = [];
  for (let a = 0; a < vocab; a += width) {
    const b = Math.min(a + width, vocab);
    const logits = unembed(hidden, a, b); // [B,L,b−a]
    const first = slice(logits, [2], [0], [1]); // [B,L,1], read before the in-place log-softmax
    const logProbs = logSoftmax(logits, -1);
    const sum = sub(first, slice(logProbs, [2], [0], [1])); // s_c [B,L,1]
    const both = mul(cast(greaterOrEqual(next, a), 'float32'), cast(less(next, b), 'float32'));
    const inBlock = unsqueeze(greater(both, 0.5), [2]); // a ≤ next < b, [B,L,1]
    const local = cast(sub(cast(next, 'float32'), a), 'int64'); // next − a, exact below 2²⁴
    const at = where(inBlock, unsqueeze(local, [2]), constant(new BigInt64Array(1), [], 'int64'));
    const logit = where(inBlock, add(gatherElements(logProbs, at, 2), sum), 0); // ℓ_next or 0, [B,L,1]
    // Everything read from the block's logits, in one small tensor: the block's buffer is then free before
    // the next block's, whatever order ONNX Runtime runs the blocks in.
    perBlock.push(concat([sum, logit], 2)); // [B,L,2]
  }
  const stats = concat(perBlock, 2); // [B,L,2·blocks]: s_0, ℓ_0, s_1, ℓ_1, …
  const [B, L] = hidden.shape as [Dim, Dim];
  const pairs = reshape(stats, [B, L, blocks, 2]);
  const sums = squeeze(slice(pairs, [3], [0], [1]), [3]); // [B,L,blocks]
  const top = reduceMax(sums, [2], true);
  const logSum = add(top, log(reduceSum(exp(sub(sums, top)), [2], true))); // [B,L,1]
  const logit = reduceSum(slice(pairs, [3], [1], [2]), [2, 3]); // [B,L]
  return sub(logit, squeeze(logSum, [2])); // [B,L]
}

/**
 * Each sequence's mean next-token cross-entropy [B] over positions [first, end) of ids [B,T] (xentSpan;
 * default every position after the first): the fitness xent.
 */
export function meanXent(
  result: BuildResult,
  ids: Node,
  vocab: number,
  { first, end } = { first: 1, end: ids.shape[1] as number },
): Node {
  const { normalized, unembed } = head(result);
  const logprobs = nextLogProbs(rows(normalized, first - 1, end - 1), rows(ids, first, end), unembed, vocab);
  return neg(reduceMean(logprobs, [1])); // [B]
}

/**
 * The positions whose logits a target may read without the whole [B,T,V]: from the last optimized one on
 * (a continuation's text, the last position), each range formed once from the final norm's rows.
 */
export function tailLogits(
  { normalized, unembed }: ReturnType<typeof head>,
  options: ProgramOptions,
): PositionView {
  const T = options.length;
  const from = T - (options.fixedSuffix ?? 0) - 1;
  const V = options.banned.length;
  const formed = new Map<string, Node>();
  return {
    shape: [normalized.shape[0] as Dim, T, V],
    at(a, b) {
      if (a < from) return undefined;
      const key = `${a}:${b}`;
      if (!formed.has(key)) formed.set(key, unembed(rows(normalized, a, b)));
      return formed.get(key);
    },
  };
}

/**
 * The fitness program: ids int64 [B,T] → target [B], xent [B] and the argmax of the last position's logits [B].
 * Logits are formed at positions 0..T−2 for the xent (a block of the vocabulary at a time) and at T−1 only
 * for the argmax or a logit target. Only these small outputs leave ONNX Runtime.
 */
export function fitnessProgram(model: Model, target: Target, options: ProgramOptions): Record<string, Node> {
  const { length: T, argmax = true } = options;
  const ids = input('ids', 'int64', ['B', T]);
  const result = model.build({ tokens: ids, hooks: target.hooks });
  const logits = tailLogits(head(result), options);
  const xent = meanXent(result, ids, model.config.vocabSize, xentSpan(options));
  const last = logits.at(T - 1, T) as Node; // [B,1,V]
  const [B, , V] = last.shape as [Dim, Dim, Dim];
  return {
    target: targetValue(target, result, logits),
    xent,
    ...(argmax && { argmax: argMax(reshape(last, [B, V]), -1) }),
  };
}
