import { apply, type Node } from '../node.ts';
import { definePrimitive, GraphError } from '../primitive.ts';
import type { Dim } from '../shape.ts';

export const Transpose = definePrimitive<{ perm: readonly number[] }>({
  name: 'Transpose',
  infer: ([x], { perm }) => {
    const shape = x!.shape;
    const sorted = [...perm].sort((p, q) => p - q);
    if (perm.length !== shape.length || sorted.some((p, i) => p !== i))
      throw new GraphError(`Transpose: perm [${perm}] is not a permutation of the ${shape.length} axes`);
    return { dtype: x!.dtype, shape: perm.map((p) => shape[p] as Dim) };
  },
  lower: (node, ctx) =>
    ctx.emit('Transpose', [ctx.name(node.inputs[0]!)], [ctx.name(node)], { perm: { ints: node.attrs.perm } }),
  // The cotangent moves back by the inverse permutation.
  vjp: ({ attrs: { perm } }, ct) => {
    const inverse = new Array<number>(perm.length);
    perm.forEach((p, i) => (inverse[p] = i));
    return [transpose(ct, inverse)];
  },
});
export const transpose = (x: Node, perm: readonly number[]): Node => apply(Transpose, [x], { perm });

/** Swaps the last two axes. */
export function transposeLast2(x: Node): Node {
  const perm = x.shape.map((_, i) => i);
  perm.splice(-2, 2, x.rank - 1, x.rank - 2);
  return transpose(x, perm);
}
