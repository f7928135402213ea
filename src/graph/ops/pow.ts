import { apply, type Node } from '../node.ts';
import { definePrimitive } from '../primitive.ts';
import { unaryFloatInfer } from './common.ts';
import { mul } from './mul.ts';

// y = xᵖ for a constant p: dy/dx = p·xᵖ⁻¹
export const Pow = definePrimitive<{ exponent: number }>({
  name: 'Pow',
  infer: (inputs) => unaryFloatInfer('Pow', inputs),
  lower: (node, ctx) => {
    const x = node.inputs[0] as Node;
    ctx.emit('Pow', [ctx.name(x), ctx.scalar(node.attrs.exponent, x.dtype)], [ctx.name(node)]);
  },
  vjp: ({ inputs: [x], attrs: { exponent } }, ct) => [mul(ct, mul(pow(x as Node, exponent - 1), exponent))],
});
export const pow = (x: Node, exponent: number): Node => apply(Pow, [x], { exponent });
