/**
 * The gradient program, and beside it its definition. For sequences of tokens x [B,T] and penalties λ [B],
 * EPO ranks the tokens v at each optimized position t by −∂loss/∂onehot[b,t,v], where
 *   loss = Σ_b (−target_b + λ_b·xent_b),   xent_b = −1/(T−1)·Σ_{t≥1} log p(x_t | x_<t),
 * and the one-hot of the tokens feeds both the embedding and the xent's labels. `gradientDefinition` is
 * that, by plain autodiff through a one-hot input: a [B,T,V] input through the whole model, the test's
 * oracle. `gradientProgram` computes the same ranking from the pieces below without forming the one-hot's
 * products: the test (test/dream/gradient.test.ts) compares the two.
 */
import {
  add,
  cast,
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
  input,
  logSoftmax,
  matmul,
  mul,
  neg,
  pad,
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
  type Node,
} from '../../graph/index.ts';
import type { Model } from '../../models/model.ts';
import type { Target } from '../../objectives/target.ts';
import { cacheOutputs } from './prefix-cache.ts';
import { head, rows, type ProgramOptions } from './programs.ts';
import { targetValue } from './target-views.ts';

/**
 * The definition: inputs `onehot` [B,T,V] and `penalties` [B] → `favour` = −∂loss/∂onehot [B,T,V], by
 * autodiff through the one-hot (both its embedding and its labels).
 */
export function gradientDefinition(model: Model, target: Target, length: number): Record<string, Node> {
  const T = length;
  const onehot = input('onehot', 'float32', ['B', T, model.config.vocabSize]);
  const penalties = input('penalties', 'float32', ['B']);
  const result = model.build({ tokens: onehot, hooks: target.hooks });
  const logProbs = logSoftmax(result.logits as Node, -1); // [B,T,V]
  const labelled = mul(rows(onehot, 1, T), rows(logProbs, 0, T - 1)); // [B,T−1,V]
  const xent = neg(div(reduceSum(labelled, [1, 2]), T - 1)); // [B]
  const loss = reduceSum(add(neg(target.value(result)), mul(penalties, xent)), [0]);
  const [dOnehot] = grad(loss, [onehot]) as [Node];
  return { favour: neg(dOnehot) };
}

/**
 * The xent from the final norm's rows, with its log-softmax kept for the label term. Without a BOS, a zero
 * row goes before h_0..h_{T−2} for position 0, which has no label term: its log-probabilities are the
 * constant −log V, which moves no token in position 0's ranking, and the label rows then line up with the
 * optimized positions without padding a [B,T,V] buffer (the zero row costs one more row in two
 * vocabulary-wide GEMMs instead). H = lead + T − 1 rows.
 */
function xentRows(normalized: Node, ids: Node, unembed: (h: Node) => Node, T: number, lead: 0 | 1) {
  const predicting = rows(normalized, 0, T - 1); // [B,T−1,D]
  const unembedded = lead ? pad(predicting, [0, 1, 0, 0, 0, 0]) : predicting; // [B,H,D]
  const logprobRows = logSoftmax(unembed(unembedded), -1); // [B,H,V]
  const next = rows(ids, 1, T); // [B,T−1]
  const labelled = lead ? pad(next, [0, 1, 0, 0]) : next; // [B,H], token 0 for the zero row
  const real = (x: Node) => (lead ? slice(x, [1], [lead], [END]) : x); // [B,H,…] → [B,T−1,…]
  const labelLogprobs = squeeze(gatherElements(logprobRows, unsqueeze(labelled, [2]), 2), [2]); // [B,H]
  const logprobs = real(labelLogprobs); // [B,T−1]
  const xent = neg(reduceMean(logprobs, [1])); // [B]
  return { predicting, unembedded, logprobRows, labelled, labelLogprobs, logprobs, xent, real };
}

/** [B] → [B,1,1], one value per sequence against [B,·,·]. */
const perRow = (x: Node) => reshape(x, ['B', 1, 1]);

/**
 * ∂(λ·xent)/∂h_t = λ/(T−1)·(softmax(h_t·W_Uᵀ)·W_U − W_U[x_{t+1}]) (t = 0..T−2): the classic
 * softmax-minus-label, formed by hand and given to autodiff as a fixed cotangent, instead of differentiating
 * the log-softmax and its label gather (which forms several more [B,T−1,V] buffers). The zero row's
 * cotangent goes nowhere: the pad's gradient drops it.
 */
function xentCotangent(
  logprobRows: Node,
  unembedding: Node,
  labelRows: Node,
  penalties: Node,
  T: number,
): Node {
  const softmaxMinusLabel = sub(matmul(exp(logprobRows), unembedding), labelRows); // [B,H,D]
  return stopGradient(mul(perRow(div(penalties, T - 1)), softmaxMinusLabel));
}

/**
 * The label term of −∂loss/∂onehot at each optimized position, with the row scaled by (T−1)/λ_b: the xent
 * is linear in its labels, so it is log p(v | tokens < t) (t ≥ 1; the zero row for t = 0), banned tokens at
 * −∞. With `zeroPenalties`, a sequence at λ_b = 0 has no label term (0 for allowed tokens). The term takes
 * at most one pass over the vocabulary: ONNX Runtime computes binary ops out of place, so each separate
 * Mul, Add or Sub would form one more [B,T,V] buffer.
 */
function labelTerm(logprobRows: Node, penalties: Node, options: ProgramOptions): Node {
  const { banned } = options;
  const V = banned.length;
  const terms = optimizedRows(logprobRows, options); // [B,T−prefix,V]
  const ban = banTerm(banned);
  if (options.zeroPenalties) {
    const allowed = constant(
      banned.map((b) => (b ? 0 : 1)),
      [V],
    );
    const positive = cast(greater(penalties, 0), 'float32');
    const keep = greater(mul(perRow(positive), allowed), 0.5); // [B,1,V]: allowed, λ_b > 0
    return where(keep, terms, ban);
  }
  return banned.some((b) => b) ? add(terms, ban) : terms;
}

/** log p(v | tokens < t) [B,T−prefix,V] at each optimized position t, from the xent's log-softmax rows. */
const optimizedRows = (logprobRows: Node, { length: T, fixedPrefix }: ProgramOptions): Node =>
  fixedPrefix <= 1 ? logprobRows : rows(logprobRows, fixedPrefix - 1, T - 1);

/** 0 for an allowed token, −∞ for a banned one [V]. */
const banTerm = (banned: readonly boolean[]): Node =>
  constant(
    banned.map((b) => (b ? -Infinity : 0)),
    [banned.length],
  );

/**
 * Each optimized position's `topk` likeliest allowed tokens under the model given the tokens before it
 * [B,T−prefix,k] (int32): fluent replacements, whatever the target's gradient says (BEAST's proposals). Without
 * a BOS, position 0 has no context (its row is uniform) and takes the first allowed tokens.
 */
function likelyTokens(logprobRows: Node, options: ProgramOptions): Node {
  const terms = optimizedRows(logprobRows, options);
  const allowed = options.banned.some((b) => b) ? add(terms, banTerm(options.banned)) : terms;
  return cast(topkIndices(allowed, options.topk, -1), 'int32');
}

/**
 * The gradient program: ids [B,T] and penalties λ [B] → target, xent, and per optimized position the top-k
 * tokens of −∂loss/∂onehot (banned tokens never proposed). The embedding term (∂loss/∂embedding · W_Eᵀ)
 * comes by autodiff through the model from the embeddings, taken as W_E[ids] (no one-hot product), with the
 * xent's cotangent at the final norm given by hand (xentCotangent); the label term by hand (labelTerm).
 * TopK ranks each row by itself, so a row is scaled by (T−1)/λ_b > 0 (by 1 where λ_b = 0), which moves the
 * scaling from the vocabulary axis onto ∂/∂embedding; the token gradient's Gemm accumulates onto the label
 * term.
 *
 * Where the top-k takes every allowed token (topkTakesAll), there is nothing to rank: no backward pass, no
 * TopK and no `topk` output. With `cache`, it also returns each sequence's prefix cache (prefix-cache.ts);
 * with `likely`, each position's likeliest tokens under the model (`likely`, see likelyTokens).
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
  const xent = xentRows(normalized, ids, unembed, T, fixedPrefix === 0 ? 1 : 0);
  const outputs: Record<string, Node> = { target: value, xent: xent.xent };
  const labelRows = gather(unembedding, xent.labelled); // [B,H,D]: W_U[x_{t+1}]
  if (options.cache) {
    // log Σ exp ℓ = ℓ_{x_{t+1}} − log p(x_{t+1} | ·), from the label's logit h_t·W_U[x_{t+1}] (not read off
    // the logits buffer, which the log-softmax then overwrites in place).
    const labelLogits = reduceSum(mul(xent.unembedded, labelRows), [2]); // [B,H]
    const sources = {
      queries: result.queries[0] as Node,
      ...(result.locals[0] && { locals: result.locals[0] }),
      keys: result.keys,
      values: result.values,
      hooks: Object.fromEntries(target.hooks.map((h) => [h, result.hooks[h] as Node])),
      logprobs: xent.logprobs,
      normalized: xent.predicting,
      logSumExp: xent.real(sub(labelLogits, xent.labelLogprobs)),
    };
    Object.assign(outputs, cacheOutputs(sources));
  }
  if (options.likely) outputs['likely'] = likelyTokens(xent.logprobRows, options);
  if (!ranked) return outputs;

  const dUnembedded = xentCotangent(xent.logprobRows, unembedding, labelRows, penalties, T);
  const surrogate = add(reduceSum(neg(value), [0]), reduceSum(mul(dUnembedded, xent.unembedded), [0, 1, 2]));
  const [dEmbedding] = grad(surrogate, [offset]) as [Node]; // [B,T,D]
  const positive = greater(penalties, 0);
  const embeddingWeight = perRow(where(positive, div(scalar(1 - T), penalties), -1)); // −(T−1)/λ_b, or −1
  const scaled = mul(dEmbedding, embeddingWeight); // [B,T,D]
  const optimizedRows = fixedPrefix === 0 ? scaled : rows(scaled, fixedPrefix, T);
  const favour = result.tokenGradient(optimizedRows, labelTerm(xent.logprobRows, penalties, options)); // [B,T−prefix,V]
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
