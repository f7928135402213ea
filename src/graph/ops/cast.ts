import { isFloat, onnxDType, type DType } from '../dtype.ts';
import { apply, type Node } from '../node.ts';
import { definePrimitive } from '../primitive.ts';

export const Cast = definePrimitive<{ to: DType }>({
  name: 'Cast',
  infer: ([x], { to }) => ({ dtype: to, shape: x!.shape }),
  lower: (node, ctx) =>
    ctx.emit('Cast', [ctx.name(node.inputs[0]!)], [ctx.name(node)], {
      to: { int: onnxDType[node.attrs.to] },
    }),
  // Between float types the cotangent is cast back; from or to non-float types no gradient flows.
  vjp: ({ inputs: [x], attrs: { to } }, ct) => [isFloat(x!.dtype) && isFloat(to) ? cast(ct, x!.dtype) : null],
});
export const cast = (x: Node, to: DType): Node => (x.dtype === to ? x : apply(Cast, [x], { to }));
