import { apply, type Node } from '../node.ts';
import { unaryPrimitive } from './common.ts';
import { div } from './div.ts';
import { mul } from './mul.ts';

// y = √x: dy/dx = 1/(2y)
export const Sqrt = unaryPrimitive('Sqrt', (node, ct) => [div(ct, mul(node, 2))]);
export const sqrt = (x: Node): Node => apply(Sqrt, [x], {});
