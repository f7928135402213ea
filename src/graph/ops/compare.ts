import { apply, type Node } from '../node.ts';
import { definePrimitive, nonDifferentiable, type Primitive } from '../primitive.ts';
import { broadcastInfer, lift, lowerSame, type Operand } from './common.ts';

/** Elementwise comparisons (ONNX Equal, Less, …): broadcasting, bool result, no gradient. */
function comparison(name: string): Primitive<Record<string, never>> {
  return definePrimitive({
    name,
    infer: (inputs) => ({ dtype: 'bool', shape: broadcastInfer(name, inputs).shape }),
    lower: lowerSame,
    vjp: nonDifferentiable,
  });
}

export const Equal = comparison('Equal');
export const Less = comparison('Less');
export const LessOrEqual = comparison('LessOrEqual');
export const Greater = comparison('Greater');
export const GreaterOrEqual = comparison('GreaterOrEqual');

export const equal = (a: Operand, b: Operand): Node => apply(Equal, lift(a, b), {});
export const less = (a: Operand, b: Operand): Node => apply(Less, lift(a, b), {});
export const lessOrEqual = (a: Operand, b: Operand): Node => apply(LessOrEqual, lift(a, b), {});
export const greater = (a: Operand, b: Operand): Node => apply(Greater, lift(a, b), {});
export const greaterOrEqual = (a: Operand, b: Operand): Node => apply(GreaterOrEqual, lift(a, b), {});
