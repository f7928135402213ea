import { apply, type Node } from '../node.ts';
import { definePrimitive, GraphError } from '../primitive.ts';
import { broadcastShapes, formatShape, isSymbolic, sameDim, type Dim } from '../shape.ts';
import { lowerSame, requireFloat, sameDTypes } from './common.ts';
import { transposeLast2 } from './transpose.ts';

/** Batched matrix product [...,m,k] @ [...,k,n] → [...,m,n]; batch dims broadcast. Both ranks ≥ 2. */
export const MatMul = definePrimitive<Record<string, never>>({
  name: 'MatMul',
  infer: (inputs) => {
    const dtype = sameDTypes('MatMul', inputs);
    const [a, b] = inputs as [(typeof inputs)[0], (typeof inputs)[0]];
    requireFloat('MatMul', a);
    const fail = (why: string) =>
      new GraphError(`MatMul: ${why}: ${formatShape(a.shape)} @ ${formatShape(b.shape)}`);
    if (a.shape.length < 2 || b.shape.length < 2) throw fail('both operands need rank ≥ 2');
    const k1 = a.shape[a.shape.length - 1] as Dim;
    const k2 = b.shape[b.shape.length - 2] as Dim;
    if (!sameDim(k1, k2) && !isSymbolic(k1) && !isSymbolic(k2))
      throw fail(`inner dims ${k1} and ${k2} differ`);
    const batch = broadcastShapes(a.shape.slice(0, -2), b.shape.slice(0, -2));
    return {
      dtype,
      shape: [...batch, a.shape[a.shape.length - 2] as Dim, b.shape[b.shape.length - 1] as Dim],
    };
  },
  lower: lowerSame,
  // C = AB: dA = dC·Bᵀ, dB = Aᵀ·dC (batch dims are summed back by autodiff)
  vjp: ({ inputs: [a, b] }, ct) => [
    matmul(ct, transposeLast2(b as Node)),
    matmul(transposeLast2(a as Node), ct),
  ],
});
export const matmul = (a: Node, b: Node): Node => apply(MatMul, [a, b], {});
