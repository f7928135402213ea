import { add, constant, gather, matmul, mul, type Node } from '../graph/index.ts';

export type RotaryConvention = 'interleaved' | 'rotate-half';

/** Per-feature tables of one head: out = x ⊙ cos[p] + (x·R) ⊙ sin[p]. */
export interface RotaryTable {
  /** [maxPositions, headDim]: cos θ on rotated pairs, 1 on features that pass through. */
  cos: Node;
  /** [maxPositions, headDim]: sin θ on rotated pairs, 0 elsewhere. */
  sin: Node;
  /** [headDim, headDim]: the signed permutation taking each pair (a, b) to (−b, a). */
  rotation: Node;
  rotaryDim: number;
}

/** The feature pairs (a, b) rotated together: (2i, 2i+1) for llama2.c, (i, i + d/2) for Hugging Face. */
function pairs(rotaryDim: number, convention: RotaryConvention): [number, number][] {
  const half = rotaryDim / 2;
  return Array.from({ length: half }, (_, i) =>
    convention === 'interleaved' ? [2 * i, 2 * i + 1] : [i, i + half],
  );
}

/**
 * Rotary position embedding tables for heads of `headDim` features whose first `rotaryDim` are rotated
 * (GPT-NeoX's partial rotary when rotaryDim < headDim): pair i turns by θ_{p,i} = p·base^(−2i/d), computed in
 * float64 and stored as constants (float32 unless asked otherwise).
 */
export function rotaryTable(
  maxPositions: number,
  headDim: number,
  base: number,
  convention: RotaryConvention,
  { rotaryDim = headDim, dtype = 'float32' }: { rotaryDim?: number; dtype?: 'float32' | 'float64' } = {},
): RotaryTable {
  const cos = new Float64Array(maxPositions * headDim).fill(1);
  const sin = new Float64Array(maxPositions * headDim);
  const rotation = new Float64Array(headDim * headDim);
  const featurePairs = pairs(rotaryDim, convention);
  featurePairs.forEach(([a, b], i) => {
    rotation[b * headDim + a] = -1; // (x·R)_a = −x_b
    rotation[a * headDim + b] = 1; // (x·R)_b = x_a
    for (let p = 0; p < maxPositions; p++) {
      const angle = p / Math.pow(base, (2 * i) / rotaryDim);
      for (const f of [a, b]) {
        cos[p * headDim + f] = Math.cos(angle);
        sin[p * headDim + f] = Math.sin(angle);
      }
    }
  });
  const table = (data: Float64Array, shape: number[]) =>
    constant(dtype === 'float64' ? data : Float32Array.from(data), shape, dtype);
  return {
    cos: table(cos, [maxPositions, headDim]),
    sin: table(sin, [maxPositions, headDim]),
    rotation: table(rotation, [headDim, headDim]),
    rotaryDim,
  };
}

/**
 * Rotary position embedding of x [B,H,T,Dh] at int64 `positions` [T]: each pair (a, b) becomes
 * (a·cos − b·sin, b·cos + a·sin), computed as x ⊙ cos + (x·R) ⊙ sin, one small matmul and no slicing.
 */
export function applyRotary(x: Node, positions: Node, table: RotaryTable): Node {
  const cos = gather(table.cos, positions); // [T,Dh]
  const sin = gather(table.sin, positions); // [T,Dh]
  return add(mul(x, cos), mul(matmul(x, table.rotation), sin));
}
