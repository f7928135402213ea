import {
  add,
  argMax,
  constant,
  GraphError,
  grad,
  input,
  mul,
  neg,
  oneHot,
  reduceSum,
  reshape,
  slice,
  topkIndices,
  END,
  type Dim,
  type Node,
} from '../graph/index.ts';
import type { Model } from '../models/model.ts';
import { nextTokenXent, nextTokenXentFromIds } from '../nn/index.ts';
import type { Target } from '../objectives/target.ts';

export interface ProgramOptions {
  /** Tokens per sequence fed to the model, BOS included. */
  length: number;
  /** Leading positions that are fixed (1 with a BOS), excluded from the gradient's top-k. */
  fixedPrefix: number;
  topk: number;
  /** Per vocabulary row: true when the token may never be proposed. */
  banned: readonly boolean[];
}

/** The logits and target of a batch of token sequences (int64 ids or a one-hot). */
function forward(model: Model, target: Target, tokens: Node) {
  const result = model.build({ tokens, hooks: target.hooks });
  if (!result.logits) throw new GraphError('the model build returned no logits');
  return { logits: result.logits, target: target.value(result) };
}

/**
 * The fitness program: ids int64 [B,T] → target [B], xent [B] and the argmax of the last position's logits [B].
 * Only these small outputs leave ONNX Runtime.
 */
export function fitnessProgram(
  model: Model,
  target: Target,
  { length }: ProgramOptions,
): Record<string, Node> {
  const ids = input('ids', 'int64', ['B', length]);
  const { logits, target: value } = forward(model, target, ids);
  const xent = nextTokenXentFromIds(logits, ids);
  const [B, , V] = logits.shape as [Dim, Dim, Dim];
  const last = reshape(slice(logits, [1], [length - 1], [length]), [B, V]); // [B,V]
  return { target: value, xent, argmax: argMax(last, -1) };
}

/**
 * The gradient program: ids [B,T] and penalties λ [B] → target, xent, and per optimized position the top-k
 * tokens of −∂loss/∂onehot, loss = Σ_b (−target_b + λ_b·xent_b). The one-hot feeds both the embedding and
 * the cross-entropy labels; banned tokens are masked (−∞) before TopK, so they are never proposed.
 */
export function gradientProgram(model: Model, target: Target, options: ProgramOptions): Record<string, Node> {
  const { length, fixedPrefix, topk, banned } = options;
  const vocab = model.config.vocabSize;
  if (banned.length !== vocab)
    throw new GraphError(`banned mask has ${banned.length} rows, the model ${vocab}`);
  const ids = input('ids', 'int64', ['B', length]);
  const penalties = input('penalties', 'float32', ['B']);
  const onehot = oneHot(ids, vocab);
  const { logits, target: value } = forward(model, target, onehot);
  const xent = nextTokenXent(logits, onehot);
  const loss = reduceSum(add(neg(value), mul(penalties, xent)), [0]);
  const [dOnehot] = grad(loss, [onehot]) as [Node]; // [B,T,V]
  const mask = constant(
    banned.map((b) => (b ? -Infinity : 0)),
    [vocab],
  );
  const favour = add(neg(slice(dOnehot, [1], [fixedPrefix], [END])), mask); // [B,T−prefix,V]
  return { target: value, xent, topk: topkIndices(favour, topk, -1) };
}
