import {
  gatherElements,
  GraphError,
  logSoftmax,
  mul,
  neg,
  reduceMean,
  reduceSum,
  slice,
  unsqueeze,
  type Dim,
  type Node,
} from '../graph/index.ts';

/** Per-position cross-entropy −Σ_v onehot_v·log softmax(logits)_v over the last axis. */
export function crossEntropy(logits: Node, targetsOneHot: Node): Node {
  return neg(reduceSum(mul(targetsOneHot, logSoftmax(logits, -1)), [-1]));
}

/**
 * Mean next-token cross-entropy of each sequence: the mean over t = 1..T−1 of −log p(token_t | prefix),
 * from logits [B,T,V] and the sequence's own one-hot tokens [B,T,V]; → [B].
 */
export function nextTokenXent(logits: Node, tokensOneHot: Node): Node {
  const T = logits.shape[1] as Dim;
  if (typeof T !== 'number') throw new GraphError('nextTokenXent needs a static sequence length');
  const predictions = slice(logits, [1], [0], [T - 1]); // [B,T−1,V]
  const targets = slice(tokensOneHot, [1], [1], [T]); // [B,T−1,V]
  return reduceMean(crossEntropy(predictions, targets), [1]);
}

/**
 * The same mean next-token cross-entropy from int64 token ids [B,T]: log-probabilities are gathered at the
 * next tokens instead of dotted with a one-hot, for programs that need no gradient.
 */
export function nextTokenXentFromIds(logits: Node, ids: Node): Node {
  const T = logits.shape[1] as Dim;
  if (typeof T !== 'number') throw new GraphError('nextTokenXentFromIds needs a static sequence length');
  const logProbs = logSoftmax(slice(logits, [1], [0], [T - 1]), -1); // [B,T−1,V]
  const next = unsqueeze(slice(ids, [1], [1], [T]), [2]); // [B,T−1,1]
  return neg(reduceMean(gatherElements(logProbs, next, 2), [1, 2]));
}
