import { apply, type Node } from '../node.ts';
import { unaryPrimitive } from './common.ts';

// d(−x) = −dx
export const Neg = unaryPrimitive('Neg', (_, ct) => [neg(ct)]);
export const neg = (x: Node): Node => apply(Neg, [x], {});
