import { apply, type Node } from '../node.ts';
import { definePrimitive } from '../primitive.ts';
import { normalizeAxis } from '../shape.ts';
import { unaryFloatInfer } from './common.ts';
import { mul } from './mul.ts';
import { reduceSum } from './reduce.ts';
import { sub } from './sub.ts';

export const Softmax = definePrimitive<{ axis: number }>({
  name: 'Softmax',
  infer: (inputs, { axis }) => {
    normalizeAxis(axis, inputs[0]!.shape.length);
    return unaryFloatInfer('Softmax', inputs);
  },
  lower: (node, ctx) =>
    ctx.emit('Softmax', [ctx.name(node.inputs[0]!)], [ctx.name(node)], { axis: { int: node.attrs.axis } }),
  // y = softmax(x): dx = y ⊙ (dy − Σ(dy ⊙ y))
  vjp: (node, ct) => [mul(node, sub(ct, reduceSum(mul(ct, node), [node.attrs.axis], true)))],
});
export const softmax = (x: Node, axis = -1): Node => apply(Softmax, [x], { axis });
