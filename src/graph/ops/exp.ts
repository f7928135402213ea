import { apply, type Node } from '../node.ts';
import { unaryPrimitive } from './common.ts';
import { mul } from './mul.ts';

// y = eˣ: dy/dx = y
export const Exp = unaryPrimitive('Exp', (node, ct) => [mul(ct, node)]);
export const exp = (x: Node): Node => apply(Exp, [x], {});
