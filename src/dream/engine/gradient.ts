/**
 * The gradient program, and beside it its definition. For sequences of tokens x [B,T] and penalties λ [B],
 * EPO ranks the tokens v at each optimized position t by −∂loss/∂onehot[b,t,v], where
 *   loss = Σ_b (−target_b + λ_b·xent_b),   xent_b = −1/N·Σ_{first≤t<end} log p(x_t | x_<t)
 * over the N optimized positions that have a prediction (programs.ts, xentSpan; for a plain prompt after a BOS,
 * t = 1..T−1), and the one-hot of the tokens feeds both the embedding and the xent's labels. `gradientDefinition` is
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
import { head, rows, tailLogits, xentSpan, type ProgramOptions } from './programs.ts';
import { targetValue } from './target-views.ts';

/**
 * The definition: inputs `onehot` [B,T,V] and `penalties` [B] → `favour` = −∂loss/∂onehot [B,T,V], by
 * autodiff through the one-hot (both its embedding and its labels), the xent over positions [first, end)
 * (default: 1..T−1).
 */
export function gradientDefinition(
  model: Model,
  target: Target,
  length: number,
  { first, end } = { first: 1, end: length },
): Record<string, Node> {
  const T = length;
  const onehot = input('onehot', 'float32', ['B', T, model.config.vocabSize]);
  const penalties = input('penalties', 'float32', ['B']);
  const result = model.build({ tokens: onehot, hooks: target.hooks });
  const logProbs = logSoftmax(result.logits as Node, -1); // [B,T,V]
  const labelled = mul(rows(onehot, first, end), rows(logProbs, first - 1, end - 1)); // [B,N,V]
  const xent = neg(div(reduceSum(labelled, [1, 2]), end - first)); // [B]
  const loss = reduceSum(add(neg(target.value(result)), mul(penalties, xent)), [0]);
  const [dOnehot] = grad(loss, [onehot]) as [Node];
  return { favour: neg(dOnehot) };
}

/**
 * The xent from the final norm's rows h_{first−1}..h_{end−2} (N = end − first of them), with its log-softmax
 * kept for the label term: one row per optimized position. Where nothing comes before the optimized tokens
 * (no BOS, no template), a zero row goes first for position 0, which has no label term: its
 * log-probabilities are the constant −log V, which moves no token in position 0's ranking, and the label rows
 * then line up with the optimized positions without padding a [B,S,V] buffer (the zero row costs one more row
 * in two vocabulary-wide GEMMs instead). S = lead + N rows.
 */
function xentRows(
  normalized: Node,
  ids: Node,
  unembed: (h: Node) => Node,
  { first, end }: { first: number; end: number },
  lead: 0 | 1,
) {
  const predicting = rows(normalized, first - 1, end - 1); // [B,N,D]
  const unembedded = lead ? pad(predicting, [0, 1, 0, 0, 0, 0]) : predicting; // [B,S,D]
  const logprobRows = logSoftmax(unembed(unembedded), -1); // [B,S,V]
  const next = rows(ids, first, end); // [B,N]
  const labelled = lead ? pad(next, [0, 1, 0, 0]) : next; // [B,S], token 0 for the zero row
  const real = (x: Node) => (lead ? slice(x, [1], [lead], [END]) : x); // [B,S,…] → [B,N,…]
  const labelLogprobs = squeeze(gatherElements(logprobRows, unsqueeze(labelled, [2]), 2), [2]); // [B,S]
  const logprobs = real(labelLogprobs); // [B,N]
  const xent = neg(reduceMean(logprobs, [1])); // [B]
  return { predicting, unembedded, logprobRows, labelled, labelLogprobs, logprobs, xent, real };
}

/** [B] → [B,1,1], one value per sequence against [B,·,·]. */
const perRow = (x: Node) => reshape(x, ['B', 1, 1]);

/**
 * ∂(λ·xent)/∂h_t = λ/N·(softmax(h_t·W_Uᵀ)·W_U − W_U[x_{t+1}]) (first − 1 ≤ t ≤ end − 2): the classic
 * softmax-minus-label, formed by hand and given to autodiff as a fixed cotangent, instead of differentiating
 * the log-softmax and its label gather (which forms several more [B,T−1,V] buffers). The zero row's
 * cotangent goes nowhere: the pad's gradient drops it.
 */
function xentCotangent(
  logprobRows: Node,
  unembedding: Node,
  labelRows: Node,
  penalties: Node,
  N: number,
): Node {
  const softmaxMinusLabel = sub(matmul(exp(logprobRows), unembedding), labelRows); // [B,S,D]
  return stopGradient(mul(perRow(div(penalties, N)), softmaxMinusLabel));
}

/**
 * The label term of −∂loss/∂onehot at each optimized position, with the row scaled by N/λ_b: the xent
 * is linear in its labels, so it is log p(v | tokens < t) (t ≥ 1; the zero row for t = 0), banned tokens at
 * −∞. With `zeroPenalties`, a sequence at λ_b = 0 has no label term (0 for allowed tokens). The term takes
 * at most one pass over the vocabulary: ONNX Runtime computes binary ops out of place, so each separate
 * Mul, Add or Sub would form one more [B,T,V] buffer.
 */
function labelTerm(logprobRows: Node, penalties: Node, options: ProgramOptions): Node {
  const { banned } = options;
  const V = banned.length;
  const terms = logprobRows; // [B,S,V]
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

/** 0 for an allowed token, −∞ for a banned one [V]. */
const banTerm = (banned: readonly boolean[]): Node =>
  constant(
    banned.map((b) => (b ? -Infinity : 0)),
    [banned.length],
  );

/**
 * Each optimized position's log-probabilities under the model given the tokens before it [B,S,V], banned
 * tokens at −∞: what ranks the fluent replacements, whatever the target's gradient says (BEAST's proposals).
 * Where nothing comes before the optimized tokens, position 0's row is uniform (the first allowed tokens).
 */
const likelyScores = (logprobRows: Node, { banned }: ProgramOptions): Node =>
  banned.some((b) => b) ? add(logprobRows, banTerm(banned)) : logprobRows;

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
  const span = xentSpan(options);
  const N = span.end - span.first;
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
  const value = targetValue(target, result, tailLogits({ normalized, unembed, unembedding }, options));
  const xent = xentRows(normalized, ids, unembed, span, fixedPrefix === 0 ? 1 : 0);
  const outputs: Record<string, Node> = { target: value, xent: xent.xent };
  const labelRows = gather(unembedding, xent.labelled); // [B,S,D]: W_U[x_{t+1}]
  if (options.cache) {
    // log Σ exp ℓ = ℓ_{x_{t+1}} − log p(x_{t+1} | ·), from the label's logit h_t·W_U[x_{t+1}] (not read off
    // the logits buffer, which the log-softmax then overwrites in place).
    const labelLogits = reduceSum(mul(xent.unembedded, labelRows), [2]); // [B,S]
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
  if (options.likely) {
    const likely = likelyScores(xent.logprobRows, options);
    if (options.scores) outputs['likelyScores'] = likely;
    else outputs['likely'] = cast(topkIndices(likely, topk, -1), 'int32'); // [B,S,k]
  }
  if (!ranked) return outputs;

  const dUnembedded = xentCotangent(xent.logprobRows, unembedding, labelRows, penalties, N);
  const surrogate = add(reduceSum(neg(value), [0]), reduceSum(mul(dUnembedded, xent.unembedded), [0, 1, 2]));
  const [dEmbedding] = grad(surrogate, [offset]) as [Node]; // [B,T,D]
  const positive = greater(penalties, 0);
  const embeddingWeight = perRow(where(positive, div(scalar(-N), penalties), -1)); // −N/λ_b, or −1
  const scaled = mul(dEmbedding, embeddingWeight); // [B,T,D]
  const optimizedRows = rows(scaled, fixedPrefix, span.end);
  const favour = result.tokenGradient(optimizedRows, labelTerm(xent.logprobRows, penalties, options)); // [B,S,V]
  if (options.scores)
    // −∂loss/∂onehot / λ_b (the rows were scaled by N/λ_b), or itself where λ_b = 0: scores that add up
    // over contexts of different N
    outputs['favour'] = mul(favour, perRow(where(positive, scalar(1 / N), 1)));
  else outputs['topk'] = cast(topkIndices(favour, topk, -1), 'int32'); // [B,S,k], int32 for the host
  return outputs;
}

/**
 * Whether the top-k takes every token that may be proposed: children draw uniformly from it, so the ranking
 * is moot, and the gradient program skips the backward pass and TopK (each position's top-k is then the
 * allowed tokens in id order). stories260K at the default top-k 512 allows 509 of its 512 tokens.
 */
export const topkTakesAll = ({ topk, banned }: Pick<ProgramOptions, 'topk' | 'banned'>): boolean =>
  topk >= banned.filter((b) => !b).length;
