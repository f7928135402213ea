import {
  div,
  expand,
  lessOrEqual,
  matmul,
  reshape,
  softmax,
  transposeLast2,
  unsqueeze,
  where,
  type Dim,
  type Node,
} from '../graph/index.ts';
import { GraphError } from '../graph/index.ts';

/**
 * Hugging Face's repeat_kv: k [B,KV,S,D] → [B,H,S,D], query head h reading kv head ⌊h/(H/KV)⌋.
 */
function repeatKv(k: Node, heads: number): Node {
  const [B, kvHeads, S, D] = k.shape as [Dim, number, Dim, Dim];
  if (kvHeads === heads) return k;
  if (heads % kvHeads !== 0)
    throw new GraphError(`attention: ${heads} query heads are not a multiple of ${kvHeads} kv heads`);
  const rep = heads / kvHeads;
  const repeated = expand(unsqueeze(k, [2]), [B, kvHeads, rep, S, D]); // [B,KV,rep,S,D]
  return reshape(repeated, [B, heads, S, D]); // [B,H,S,D]
}

/**
 * Causal scaled dot-product attention: q [B,H,T,D] against k, v [B,KV,S,D] (GQA when KV < H); query t sees
 * key s when keyPositions[s] ≤ queryPositions[t]. A key/value cache is passed by concatenating it to k, v.
 * Returns the output [B,H,T,D] and the pattern softmax(q·kᵀ/√D) [B,H,T,S].
 */
export function attention(
  q: Node,
  k: Node,
  v: Node,
  queryPositions: Node,
  keyPositions: Node,
): { out: Node; pattern: Node } {
  const heads = q.shape[1] as number;
  const headDim = q.shape[3] as number;
  const scores = div(matmul(q, transposeLast2(repeatKv(k, heads))), Math.sqrt(headDim)); // [B,H,T,S]
  const visible = lessOrEqual(unsqueeze(keyPositions, [0]), unsqueeze(queryPositions, [1])); // [T,S]
  const pattern = softmax(where(visible, scores, -Infinity), -1);
  return { out: matmul(pattern, repeatKv(v, heads)), pattern };
}
