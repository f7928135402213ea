import { apply, type Node } from '../node.ts';
import { unaryPrimitive } from './common.ts';
import { mul } from './mul.ts';
import { sub } from './sub.ts';

// y = tanh x: dy/dx = 1 − y²
export const Tanh = unaryPrimitive('Tanh', (node, ct) => [mul(ct, sub(1, mul(node, node)))]);
export const tanh = (x: Node): Node => apply(Tanh, [x], {});
