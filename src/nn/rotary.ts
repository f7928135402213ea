import {
  add,
  concat,
  constant,
  gather,
  mul,
  reshape,
  slice,
  squeeze,
  sub,
  unsqueeze,
  END,
  type Dim,
  type Node,
} from '../graph/index.ts';

export type RotaryConvention = 'interleaved' | 'rotate-half';

export interface RotaryTable {
  cos: Node;
  sin: Node;
  rotaryDim: number;
}

/**
 * cos and sin of θ_{p,i} = p·base^(−2i/d) for positions p < maxPositions and i < d/2, computed in float64
 * and stored as constants [maxPositions, d/2] (float32 unless asked otherwise).
 */
export function rotaryTable(
  maxPositions: number,
  rotaryDim: number,
  base: number,
  dtype: 'float32' | 'float64' = 'float32',
): RotaryTable {
  const half = rotaryDim / 2;
  const cos = new Float64Array(maxPositions * half);
  const sin = new Float64Array(maxPositions * half);
  for (let p = 0; p < maxPositions; p++)
    for (let i = 0; i < half; i++) {
      const angle = p / Math.pow(base, (2 * i) / rotaryDim);
      cos[p * half + i] = Math.cos(angle);
      sin[p * half + i] = Math.sin(angle);
    }
  return {
    cos: constant(dtype === 'float64' ? cos : Float32Array.from(cos), [maxPositions, half], dtype),
    sin: constant(dtype === 'float64' ? sin : Float32Array.from(sin), [maxPositions, half], dtype),
    rotaryDim,
  };
}

/** (a, b) ↦ (a·cos − b·sin, b·cos + a·sin): the rotation of each feature pair. */
const rotate = (a: Node, b: Node, cos: Node, sin: Node): [Node, Node] => [
  sub(mul(a, cos), mul(b, sin)),
  add(mul(b, cos), mul(a, sin)),
];

/**
 * Rotary position embedding of x [B,H,T,Dh] at int64 `positions` [T] on the first `table.rotaryDim` features
 * (the rest pass through, as GPT-NeoX's partial rotary). Pairs are (2i, 2i+1) in llama2.c's interleaved
 * convention and (i, i + d/2) in Hugging Face's rotate-half convention.
 */
export function applyRotary(
  x: Node,
  positions: Node,
  table: RotaryTable,
  convention: RotaryConvention,
): Node {
  const d = table.rotaryDim;
  const headDim = x.shape[3] as Dim;
  const cos = gather(table.cos, positions); // [T, d/2]
  const sin = gather(table.sin, positions);
  const rotated = d === headDim ? x : slice(x, [3], [0], [d]);
  let out: Node;
  if (convention === 'rotate-half') {
    const [a, b] = rotate(slice(rotated, [3], [0], [d / 2]), slice(rotated, [3], [d / 2], [d]), cos, sin);
    out = concat([a, b], 3);
  } else {
    const [B, H, T] = x.shape as [Dim, Dim, Dim];
    const pairs = reshape(rotated, [B, H, T, d / 2, 2]); // [B,H,T,d/2,2]
    const half = (k: number) => squeeze(slice(pairs, [4], [k], [k + 1]), [4]); // [B,H,T,d/2]
    const [a, b] = rotate(half(0), half(1), cos, sin);
    out = reshape(concat([unsqueeze(a, [4]), unsqueeze(b, [4])], 4), [B, H, T, d]); // [B,H,T,d]
  }
  return d === headDim ? out : concat([out, slice(x, [3], [d], [END])], 3);
}
