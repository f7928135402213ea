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
  type Node,
} from '../graph/index.ts';
import { GraphError } from '../graph/index.ts';

/**
 * Hugging Face's repeat_kv along the heads axis (1 in [B,KV,S,D], 0 in [KV,B,S,D]): KV → H heads, query head h
 * reading kv head ⌊h/(H/KV)⌋.
 */
function repeatKv(k: Node, heads: number, axis: 0 | 1): Node {
  const kvHeads = k.shape[axis] as number;
  if (kvHeads === heads) return k;
  if (heads % kvHeads !== 0)
    throw new GraphError(`attention: ${heads} query heads are not a multiple of ${kvHeads} kv heads`);
  const [before, after] = [k.shape.slice(0, axis), k.shape.slice(axis + 1)];
  const repeated = expand(unsqueeze(k, [axis + 1]), [...before, kvHeads, heads / kvHeads, ...after]);
  return reshape(repeated, [...before, heads, ...after]);
}

/**
 * Causal scaled dot-product attention: q [B,H,T,D] against k, v [B,KV,S,D] (GQA when KV < H); query t sees
 * key s when keyPositions[s] ≤ queryPositions[t]. A key/value cache is passed by concatenating it to k, v.
 * Returns the output [B,H,T,D] and the pattern softmax(q·kᵀ/√D) [B,H,T,S]. With `headsFirst`, every tensor
 * has its heads and batch axes swapped ([H,B,T,D], [KV,B,S,D] → [H,B,T,S]).
 */
export function attention(
  q: Node,
  k: Node,
  v: Node,
  queryPositions: Node,
  keyPositions: Node,
  { headsFirst = false }: { headsFirst?: boolean } = {},
): { out: Node; pattern: Node } {
  const axis = headsFirst ? 0 : 1;
  const heads = q.shape[axis] as number;
  const headDim = q.shape[3] as number;
  const scores = div(matmul(q, transposeLast2(repeatKv(k, heads, axis))), Math.sqrt(headDim)); // [·,·,T,S]
  const visible = lessOrEqual(unsqueeze(keyPositions, [0]), unsqueeze(queryPositions, [1])); // [T,S]
  const pattern = softmax(where(visible, scores, -Infinity), -1);
  return { out: matmul(pattern, repeatKv(v, heads, axis)), pattern };
}
