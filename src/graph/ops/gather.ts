import { apply, type Node } from '../node.ts';
import { definePrimitive, GraphError } from '../primitive.ts';
import { dimProduct, normalizeAxis, type Dim } from '../shape.ts';
import { lowerAxis } from './common.ts';
import { matmul } from './matmul.ts';
import { oneHot } from './one-hot.ts';
import { reshape } from './reshape.ts';
import { transposeLast2 } from './transpose.ts';

/** Rows of `data` along `axis` picked by int64 `indices`: out = data[:axis] + indices.shape + data[axis+1:]. */
export const Gather = definePrimitive<{ axis: number }>({
  name: 'Gather',
  infer: ([data, indices], { axis }) => {
    if (indices!.dtype !== 'int64')
      throw new GraphError(`Gather: indices must be int64, got ${indices!.dtype}`);
    const a = normalizeAxis(axis, data!.shape.length, 'Gather axis');
    return {
      dtype: data!.dtype,
      shape: [...data!.shape.slice(0, a), ...indices!.shape, ...data!.shape.slice(a + 1)],
    };
  },
  lower: lowerAxis,
  // d data = onehot(indices)ᵀ · d out, i.e. the cotangent rows scattered back and summed (axis 0 only).
  vjp: ({ inputs: [data, indices], attrs: { axis } }, ct) => {
    if (normalizeAxis(axis, data!.rank) !== 0)
      throw new GraphError('Gather gradient is implemented for axis 0');
    const rows = data!.shape[0] as Dim;
    if (typeof rows !== 'number') throw new GraphError('Gather gradient needs a static number of rows');
    const rest = data!.shape.slice(1);
    const picks = reshape(oneHot(indices!, rows, data!.dtype), [-1, rows]); // [N, rows]
    const cts = reshape(ct, [-1, dimProduct(rest)]); // [N, prod(rest)]
    return [reshape(matmul(transposeLast2(picks), cts), data!.shape), null];
  },
});
export const gather = (data: Node, indices: Node, axis = 0): Node => apply(Gather, [data, indices], { axis });
