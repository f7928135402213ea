import {
  add,
  argMax,
  cast,
  concat,
  constant,
  div,
  END,
  exp,
  expand,
  gather,
  gatherElements,
  GraphError,
  grad,
  greater,
  greaterOrEqual,
  input,
  less,
  log,
  logSoftmax,
  matmul,
  mul,
  neg,
  pad,
  reduceMax,
  reduceMean,
  reduceSum,
  reshape,
  scalar,
  slice,
  squeeze,
  stopGradient,
  sub,
  topkIndices,
  unsqueeze,
  where,
  type Dim,
  type Node,
} from '../../graph/index.ts';
import type { BuildResult, Model } from '../../models/model.ts';
import type { Target } from '../../objectives/target.ts';
import { cacheOutputs } from './prefix-cache.ts';
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
const rows = (x: Node, from: number, to: number): Node => slice(x, [1], [from], [to]);

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
  const logprobs = nextLogProbs(rows(normalized, 0, T - 1), rows(ids, 1, T), unembed, model.config.vocabSize);
  const xent = neg(reduceMean(logprobs, [1])); // [B]
  const [B, , V] = last.shape as [Dim, Dim, Dim];
  return {
    target: targetValue(target, result, last, T),
    xent,
    ...(argmax && { argmax: argMax(reshape(last, [B, V]), -1) }),
  };
}

/**
 * The gradient program: ids [B,T] and penalties λ [B] → target, xent, and per optimized position the top-k
 * tokens of −∂loss/∂onehot, loss = Σ_b (−target_b + λ_b·xent_b), banned tokens masked (−∞) before TopK so
 * that they are never proposed. The one-hot feeds both the embedding and the cross-entropy labels, so
 *   ∂loss/∂onehot[b,t,v] = (∂loss/∂embedding[b,t] · W_Eᵀ)_v − λ_b/(T−1)·log p(v | tokens < t)   (t ≥ 1),
 * the first term by autodiff through the model from the embeddings (taken as W_E[ids], no one-hot product),
 * the second by hand: the xent is linear in its labels. The xent's gradient with respect to the final norm's
 * rows h_t is also formed by hand, as the classic softmax-minus-label,
 *   ∂(λ·xent)/∂h_t = λ/(T−1)·(softmax(h_t·W_Uᵀ)·W_U − W_U[x_{t+1}])   (t = 0..T−2),
 * and fed to autodiff as a fixed cotangent, instead of differentiating the log-softmax and its label gather
 * (which forms several more [B,T−1,V] buffers). TopK ranks each row by itself, so a row is scaled by
 * (T−1)/λ_b > 0 where that moves the scaling from the vocabulary axis onto ∂/∂embedding.
 *
 * Where the top-k takes every allowed token (topkTakesAll), there is nothing to rank: no backward pass, no TopK
 * and no `topk` output.
 *
 * With `cache`, it also returns what incremental evaluation of the sequences' children reuses:
 * `cache.keys.L`, `cache.values.L` [B,T,KV·Dh] per block, block 0's `cache.queries` [B,T,H·Dh] and, for a
 * parallel-residual model, `cache.locals` [B,T,D] (see FirstBlockReuse), `logprobs` [B,T−1] (log p(token_t | prefix) for
 * t = 1..T−1), `normalized` [B,T−1,D] and `logSumExp` [B,T−1] (the final norm's rows h_t and log Σ_v exp ℓ_v
 * of their logits, t = 0..T−2: log p(v | tokens ≤ t) = h_t·W_U[v] − logSumExp_t for any token v, without
 * keeping [T−1,V] log-probabilities per sequence) and `cache.hook.NAME` for each hook the target reads.
 */
export function gradientProgram(model: Model, target: Target, options: ProgramOptions): Record<string, Node> {
  const { length: T, fixedPrefix, topk, banned } = options;
  const { vocabSize: V, hidden: D } = model.config;
  if (banned.length !== V) throw new GraphError(`banned mask has ${banned.length} rows, the model ${V}`);
  const ids = input('ids', 'int64', ['B', T]);
  const penalties = input('penalties', 'float32', ['B']);
  const ranked = !topkTakesAll(options);
  const offset = expand(scalar(0), ['B', T, D]); // [B,T,D], differentiated against
  const result = model.build({
    tokens: ids,
    ...(ranked && { embeddingOffset: offset }),
    hooks: target.hooks,
  });
  const { normalized, unembed, unembedding } = head(result);
  const value = targetValue(target, result, unembed(rows(normalized, T - 1, T)), T);
  // The rows whose logits the program forms: the xent's, h_0..h_{T−2}, and without a BOS a zero row before
  // them for position 0, which has no label term: its log-probabilities are the constant −log V, which moves
  // no token in position 0's ranking, and the label rows then line up with the optimized positions without
  // padding a [B,T,V] buffer (the zero row costs one more row in two vocabulary-wide GEMMs instead).
  const lead = fixedPrefix === 0 ? 1 : 0;
  const predicting = rows(normalized, 0, T - 1); // [B,T−1,D]
  const unembedded = lead ? pad(predicting, [0, 1, 0, 0, 0, 0]) : predicting; // [B,H,D], H = lead+T−1
  const logits = unembed(unembedded); // [B,H,V]
  const logprobRows = logSoftmax(logits, -1); // [B,H,V]
  const next = rows(ids, 1, T); // [B,T−1]
  const labelled = lead ? pad(next, [0, 1, 0, 0]) : next; // [B,H], token 0 for the zero row
  const real = (x: Node) => (lead ? slice(x, [1], [lead], [END]) : x); // [B,H,…] → [B,T−1,…]
  const labelLogprobs = squeeze(gatherElements(logprobRows, unsqueeze(labelled, [2]), 2), [2]); // [B,H]
  const logprobs = real(labelLogprobs); // [B,T−1]
  const xent = neg(reduceMean(logprobs, [1])); // [B]
  const outputs: Record<string, Node> = { target: value, xent };
  const labelRows = gather(unembedding, labelled); // [B,H,D]: W_U[x_{t+1}]
  if (options.cache) {
    // log Σ exp ℓ = ℓ_{x_{t+1}} − log p(x_{t+1} | ·), from the label's logit h_t·W_U[x_{t+1}] (not read off
    // the logits buffer, which the log-softmax then overwrites in place).
    const labelLogits = reduceSum(mul(unembedded, labelRows), [2]); // [B,H]
    const sources = {
      queries: result.queries[0] as Node,
      ...(result.locals[0] && { locals: result.locals[0] }),
      keys: result.keys,
      values: result.values,
      hooks: Object.fromEntries(target.hooks.map((h) => [h, result.hooks[h] as Node])),
      logprobs,
      normalized: predicting,
      logSumExp: real(sub(labelLogits, labelLogprobs)),
    };
    Object.assign(outputs, cacheOutputs(sources));
  }
  if (!ranked) return outputs;

  const perRow = (x: Node) => reshape(x, ['B', 1, 1]);
  // The zero row's cotangent goes nowhere: the pad's gradient drops it.
  const softmaxMinusLabel = sub(matmul(exp(logprobRows), unembedding), labelRows); // [B,H,D]
  const dUnembedded = stopGradient(mul(perRow(div(penalties, T - 1)), softmaxMinusLabel));
  const surrogate = add(reduceSum(neg(value), [0]), reduceSum(mul(dUnembedded, unembedded), [0, 1, 2]));
  const [dEmbedding] = grad(surrogate, [offset]) as [Node]; // [B,T,D]

  // −∂loss/∂onehot per optimized position, each row scaled by (T−1)/λ_b (by 1 where λ_b = 0, which has no
  // label term): the labels' log p(v | tokens < t) minus the embedding term, banned tokens at −∞. Position t
  // reads label row t − 1 + lead (the zero row for t = 0). The label term takes at most one pass over the
  // vocabulary, and the token gradient's Gemm accumulates onto it, because ONNX Runtime computes binary ops
  // out of place: each separate Mul, Add or Sub would form one more [B,T,V] buffer, and its page faults.
  const positive = greater(penalties, 0);
  const labelTerms = fixedPrefix <= 1 ? logprobRows : rows(logprobRows, fixedPrefix - 1, T - 1);
  const ban = constant(
    banned.map((b) => (b ? -Infinity : 0)),
    [V],
  );
  let labels = labelTerms; // [B,T−prefix,V]
  if (options.zeroPenalties) {
    const allowed = constant(
      banned.map((b) => (b ? 0 : 1)),
      [V],
    );
    const keep = greater(mul(perRow(cast(positive, 'float32')), allowed), 0.5); // [B,1,V]: allowed, λ_b > 0
    labels = where(keep, labelTerms, ban);
  } else if (banned.some((b) => b)) labels = add(labelTerms, ban);
  const embeddingWeight = perRow(where(positive, div(scalar(1 - T), penalties), -1)); // −(T−1)/λ_b, or −1
  const scaled = mul(dEmbedding, embeddingWeight); // [B,T,D]
  const optimizedRows = fixedPrefix === 0 ? scaled : rows(scaled, fixedPrefix, T);
  const favour = result.tokenGradient(optimizedRows, labels); // [B,T−prefix,V]
  outputs['topk'] = cast(topkIndices(favour, topk, -1), 'int32'); // [B,T−prefix,k], int32 for the host
  return outputs;
}

/**
 * Whether the top-k takes every token that may be proposed: children draw uniformly from it, so the ranking
 * is moot, and the gradient program skips the backward pass and TopK (each position's top-k is then the
 * allowed tokens in id order). stories260K at the default top-k 512 allows 509 of its 512 tokens.
 */
export const topkTakesAll = ({ topk, banned }: Pick<ProgramOptions, 'topk' | 'banned'>): boolean =>
  topk >= banned.filter((b) => !b).length;
