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
    const indices = ctx.name(node.inputs[0]!);
    const axis = { axis: { int: -1 } };
    // ORT's CPU OneHot kernel has float32 and int64 outputs only: other dtypes go through int64 and a Cast.
    if (dtype !== 'float32' && dtype !== 'int64') {
      const ints = ctx.fresh('onehot_int64');
      ctx.emit('OneHot', [indices, ctx.int64s([depth]), ctx.int64s([0, 1])], [ints], axis);
      ctx.emit('Cast', [ints], [ctx.name(node)], { to: { int: onnxDType[dtype] } });
      return;
    }
    const values = ctx.fresh('onehot_values');
    ctx.emit('Cast', [ctx.int64s([0, 1])], [values], { to: { int: onnxDType[dtype] } });
    ctx.emit('OneHot', [indices, ctx.int64s([depth]), values], [ctx.name(node)], axis);
  },
  vjp: nonDifferentiable,
});
export const oneHot = (indices: Node, depth: number, dtype: DType = 'float32'): Node =>
  apply(OneHot, [indices], { depth, dtype });
