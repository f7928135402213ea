import { apply, type Node } from '../node.ts';
import { binaryPrimitive, lift, type Operand } from './common.ts';

// d(ab) = b·da + a·db
export const Mul = binaryPrimitive('Mul', ({ inputs: [a, b] }, ct) => [
  mul(ct, b as Node),
  mul(ct, a as Node),
]);
export const mul = (a: Operand, b: Operand): Node => apply(Mul, lift(a, b), {});
