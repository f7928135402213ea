import { apply, type Node } from '../node.ts';
import { definePrimitive, nonDifferentiable } from '../primitive.ts';
import { normalizeAxis } from '../shape.ts';

/** int64 index of the largest entry along `axis` (the first of ties). */
export const ArgMax = definePrimitive<{ axis: number; keepdims: boolean }>({
  name: 'ArgMax',
  infer: ([x], { axis, keepdims }) => {
    const a = normalizeAxis(axis, x!.shape.length, 'ArgMax axis');
    return {
      dtype: 'int64',
      shape: keepdims ? x!.shape.map((d, i) => (i === a ? 1 : d)) : x!.shape.filter((_, i) => i !== a),
    };
  },
  lower: (node, ctx) =>
    ctx.emit('ArgMax', [ctx.name(node.inputs[0]!)], [ctx.name(node)], {
      axis: { int: node.attrs.axis },
      keepdims: { int: node.attrs.keepdims ? 1 : 0 },
    }),
  vjp: nonDifferentiable,
});
export const argMax = (x: Node, axis = -1, keepdims = false): Node => apply(ArgMax, [x], { axis, keepdims });
