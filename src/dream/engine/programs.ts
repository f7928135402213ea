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
import { targetValue } from './target-views.ts';

export interface ProgramOptions {
  /** Tokens per sequence fed to the model, BOS included. */
  length: number;
  /** Leading positions that are fixed (1 with a BOS), excluded from the gradient's top-k. */
  fixedPrefix: number;
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

/** Each sequence's mean next-token cross-entropy [B] over positions 1..T−1 of ids [B,T]: the fitness xent. */
export function meanXent(result: BuildResult, ids: Node, vocab: number): Node {
  const { normalized, unembed } = head(result);
  const T = ids.shape[1] as number;
  const logprobs = nextLogProbs(rows(normalized, 0, T - 1), rows(ids, 1, T), unembed, vocab); // [B,T−1]
  return neg(reduceMean(logprobs, [1])); // [B]
}

/**
 * The fitness program: ids int64 [B,T] → target [B], xent [B] and the argmax of the last position's logits [B].
 * Logits are formed at positions 0..T−2 for the xent (a block of the vocabulary at a time) and at T−1 only
 * for the argmax or a logit target. Only these small outputs leave ONNX Runtime.
 */
export function fitnessProgram(
  model: Model,
  target: Target,
  { length: T, argmax = true }: ProgramOptions,
): Record<string, Node> {
  const ids = input('ids', 'int64', ['B', T]);
  const result = model.build({ tokens: ids, hooks: target.hooks });
  const { normalized, unembed } = head(result);
  const last = unembed(rows(normalized, T - 1, T)); // [B,1,V]
  const xent = meanXent(result, ids, model.config.vocabSize);
  const [B, , V] = last.shape as [Dim, Dim, Dim];
  return {
    target: targetValue(target, result, last, T),
    xent,
    ...(argmax && { argmax: argMax(reshape(last, [B, V]), -1) }),
  };
}
