import { apply, type Node } from '../node.ts';
import { unaryPrimitive } from './common.ts';
import { div } from './div.ts';

// y = ln x: dy/dx = 1/x
export const Log = unaryPrimitive('Log', ({ inputs: [x] }, ct) => [div(ct, x as Node)]);
export const log = (x: Node): Node => apply(Log, [x], {});
