import { apply, type Node } from '../node.ts';
import { definePrimitive } from '../primitive.ts';
import { normalizeAxis } from '../shape.ts';
import { unaryFloatInfer } from './common.ts';
import { exp } from './exp.ts';
import { mul } from './mul.ts';
import { reduceSum } from './reduce.ts';
import { sub } from './sub.ts';

export const LogSoftmax = definePrimitive<{ axis: number }>({
  name: 'LogSoftmax',
  infer: (inputs, { axis }) => {
    normalizeAxis(axis, inputs[0]!.shape.length);
    return unaryFloatInfer('LogSoftmax', inputs);
  },
  lower: (node, ctx) =>
    ctx.emit('LogSoftmax', [ctx.name(node.inputs[0]!)], [ctx.name(node)], { axis: { int: node.attrs.axis } }),
  // y = x − logΣeˣ: dx = dy − eʸ·Σdy
  vjp: (node, ct) => [sub(ct, mul(exp(node), reduceSum(ct, [node.attrs.axis], true)))],
});
export const logSoftmax = (x: Node, axis = -1): Node => apply(LogSoftmax, [x], { axis });
