import { apply, type Node } from '../node.ts';
import { definePrimitive } from '../primitive.ts';
import { gatherElements } from './gather-elements.ts';

/** data with `updates` added at `indices` along `axis` (ONNX ScatterElements, reduction "add"). */
export const ScatterAdd = definePrimitive<{ axis: number }>({
  name: 'ScatterAdd',
  infer: ([data]) => data!,
  lower: (node, ctx) =>
    ctx.emit('ScatterElements', node.inputs.map(ctx.name), [ctx.name(node)], {
      axis: { int: node.attrs.axis },
      reduction: { string: 'add' },
    }),
  // out = data + scatter(updates): d data = d out, d updates = d out gathered at the indices
  vjp: ({ inputs: [, indices], attrs: { axis } }, ct) => [ct, null, gatherElements(ct, indices!, axis)],
});
export const scatterAdd = (data: Node, indices: Node, updates: Node, axis: number): Node =>
  apply(ScatterAdd, [data, indices, updates], { axis });
