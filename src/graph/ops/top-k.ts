import { apply, type Node } from '../node.ts';
import { definePrimitive, GraphError, nonDifferentiable } from '../primitive.ts';
import { isSymbolic, normalizeAxis } from '../shape.ts';

type TopKAttrs = { k: number; axis: number; largest: boolean; output: 'values' | 'indices' };

/** The k largest (or smallest) entries along `axis`, sorted; one node per output (values or int64 indices). */
export const TopK = definePrimitive<TopKAttrs>({
  name: 'TopK',
  infer: ([x], { k, axis, output }) => {
    const a = normalizeAxis(axis, x!.shape.length, 'TopK axis');
    const size = x!.shape[a];
    if (!Number.isInteger(k) || k < 1 || (!isSymbolic(size!) && k > size!))
      throw new GraphError(`TopK: k must be an integer in 1..${size}, got ${k}`);
    const shape = [...x!.shape];
    shape[a] = k;
    return { dtype: output === 'values' ? x!.dtype : 'int64', shape };
  },
  lower: (node, ctx) => {
    const { k, axis, largest, output } = node.attrs;
    const other = ctx.fresh('topk_unused');
    const outputs = output === 'values' ? [ctx.name(node), other] : [other, ctx.name(node)];
    ctx.emit('TopK', [ctx.name(node.inputs[0]!), ctx.int64s([k])], outputs, {
      axis: { int: axis },
      largest: { int: largest ? 1 : 0 },
      sorted: { int: 1 },
    });
  },
  vjp: nonDifferentiable,
});
export const topkIndices = (x: Node, k: number, axis = -1, largest = true): Node =>
  apply(TopK, [x], { k, axis, largest, output: 'indices' });
export const topkValues = (x: Node, k: number, axis = -1, largest = true): Node =>
  apply(TopK, [x], { k, axis, largest, output: 'values' });
