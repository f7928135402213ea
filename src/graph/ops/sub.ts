import { apply, type Node } from '../node.ts';
import { binaryPrimitive, lift, type Operand } from './common.ts';
import { neg } from './neg.ts';

// d(a−b) = da − db
export const Sub = binaryPrimitive('Sub', (_, ct) => [ct, neg(ct)]);
export const sub = (a: Operand, b: Operand): Node => apply(Sub, lift(a, b), {});
