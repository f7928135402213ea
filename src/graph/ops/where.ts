import { apply, type Node } from '../node.ts';
import { definePrimitive, GraphError } from '../primitive.ts';
import { broadcastShapes } from '../shape.ts';
import { lift, lowerSame, sameDTypes, type Operand } from './common.ts';

/** cond ? a : b, elementwise with broadcasting. */
export const Where = definePrimitive<Record<string, never>>({
  name: 'Where',
  infer: ([cond, a, b]) => {
    if (cond!.dtype !== 'bool') throw new GraphError(`Where: condition must be bool, got ${cond!.dtype}`);
    const dtype = sameDTypes('Where', [a!, b!]);
    return { dtype, shape: broadcastShapes(cond!.shape, broadcastShapes(a!.shape, b!.shape)) };
  },
  lower: lowerSame,
  // Each branch gets the cotangent where it was chosen, zero elsewhere.
  vjp: ({ inputs: [cond] }, ct) => [null, where(cond!, ct, 0), where(cond!, 0, ct)],
});
export function where(cond: Node, a: Operand, b: Operand): Node {
  return apply(Where, [cond, ...lift(a, b)], {});
}
