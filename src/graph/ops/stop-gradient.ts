import { apply, type Node } from '../node.ts';
import { definePrimitive, nonDifferentiable } from '../primitive.ts';

/**
 * x itself in value, a constant to autodiff: no gradient flows back through it, so paths from `wrt` that
 * pass through it contribute nothing (d/dx Σ x · stopGradient(x) = x, not 2x).
 */
export const StopGradient = definePrimitive<Record<string, never>>({
  name: 'StopGradient',
  infer: ([x]) => x!,
  lower: (node, ctx) => ctx.emit('Identity', [ctx.name(node.inputs[0]!)], [ctx.name(node)]),
  vjp: nonDifferentiable,
});
export const stopGradient = (x: Node): Node => apply(StopGradient, [x], {});
