import { onnxDType, type DType } from '../dtype.ts';
import { apply, type Node } from '../node.ts';
import { definePrimitive, GraphError, nonDifferentiable } from '../primitive.ts';

/** int64 indices [...] → [..., depth] with 1 at each index and 0 elsewhere. */
export const OneHot = definePrimitive<{ depth: number; dtype: DType }>({
  name: 'OneHot',
  infer: ([indices], { depth, dtype }) => {
    if (indices!.dtype !== 'int64')
      throw new GraphError(`OneHot: indices must be int64, got ${indices!.dtype}`);
    return { dtype, shape: [...indices!.shape, depth] };
  },
  lower: (node, ctx) => {
    const { depth, dtype } = node.attrs;
    const values = ctx.fresh('onehot_values');
    ctx.emit('Cast', [ctx.int64s([0, 1])], [values], { to: { int: onnxDType[dtype] } });
    ctx.emit('OneHot', [ctx.name(node.inputs[0]!), ctx.int64s([depth]), values], [ctx.name(node)], {
      axis: { int: -1 },
    });
  },
  vjp: nonDifferentiable,
});
export const oneHot = (indices: Node, depth: number, dtype: DType = 'float32'): Node =>
  apply(OneHot, [indices], { depth, dtype });
