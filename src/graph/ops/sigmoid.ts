import { apply, type Node } from '../node.ts';
import { unaryPrimitive } from './common.ts';
import { mul } from './mul.ts';
import { sub } from './sub.ts';

// y = σ(x): dy/dx = y(1 − y)
export const Sigmoid = unaryPrimitive('Sigmoid', (node, ct) => [mul(ct, mul(node, sub(1, node)))]);
export const sigmoid = (x: Node): Node => apply(Sigmoid, [x], {});
