import { apply, type Node } from '../node.ts';
import { binaryPrimitive, lift, type Operand } from './common.ts';

// d(a+b) = da + db
export const Add = binaryPrimitive('Add', (_, ct) => [ct, ct]);
export const add = (a: Operand, b: Operand): Node => apply(Add, lift(a, b), {});
