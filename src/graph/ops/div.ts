import { apply, type Node } from '../node.ts';
import { binaryPrimitive, lift, type Operand } from './common.ts';
import { mul } from './mul.ts';
import { neg } from './neg.ts';

// y = a/b: dy/da = 1/b, dy/db = −a/b² = −y/b
export const Div = binaryPrimitive('Div', (node, ct) => {
  const b = node.inputs[1] as Node;
  return [div(ct, b), neg(div(mul(ct, node), b))];
});
export const div = (a: Operand, b: Operand): Node => apply(Div, lift(a, b), {});
