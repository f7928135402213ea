import { apply, type Node } from '../node.ts';
import { definePrimitive } from '../primitive.ts';
import { broadcastShapes, type Shape } from '../shape.ts';

/** Broadcasts x to `shape` (NumPy rules, as ONNX Expand). */
export const Expand = definePrimitive<{ shape: Shape }>({
  name: 'Expand',
  infer: ([x], { shape }) => ({ dtype: x!.dtype, shape: broadcastShapes(x!.shape, shape) }),
  lower: (node, ctx) =>
    ctx.emit('Expand', [ctx.name(node.inputs[0]!), ctx.shapeTensor(node.attrs.shape)], [ctx.name(node)]),
  // The cotangent is summed back over the broadcast axes by autodiff.
  vjp: (_, ct) => [ct],
});
export const expand = (x: Node, shape: Shape): Node => apply(Expand, [x], { shape });
