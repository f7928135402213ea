import { apply, type Node } from '../node.ts';
import { definePrimitive, GraphError } from '../primitive.ts';
import { normalizeAxis } from '../shape.ts';
import { lowerAxis } from './common.ts';
import { scalar } from './leaf.ts';
import { expand } from './expand.ts';
import { scatterAdd } from './scatter-add.ts';

/** out[i][j] = data[i][indices[i][j]] along `axis` (ONNX GatherElements); out has the indices' shape. */
export const GatherElements = definePrimitive<{ axis: number }>({
  name: 'GatherElements',
  infer: ([data, indices], { axis }) => {
    if (indices!.dtype !== 'int64')
      throw new GraphError(`GatherElements: indices must be int64, got ${indices!.dtype}`);
    if (indices!.shape.length !== data!.shape.length)
      throw new GraphError(
        `GatherElements: indices rank ${indices!.shape.length} ≠ data rank ${data!.shape.length}`,
      );
    normalizeAxis(axis, data!.shape.length, 'GatherElements axis');
    return { dtype: data!.dtype, shape: indices!.shape };
  },
  lower: lowerAxis,
  // d data = scatter-add of d out at the gathered indices
  vjp: ({ inputs: [data, indices], attrs: { axis } }, ct) => [
    scatterAdd(expand(scalar(0, data!.dtype), data!.shape), indices!, ct, axis),
    null,
  ],
});
export const gatherElements = (data: Node, indices: Node, axis: number): Node =>
  apply(GatherElements, [data, indices], { axis });
