import { apply, type Node } from '../node.ts';
import { unaryPrimitive } from './common.ts';
import { exp } from './exp.ts';
import { mul } from './mul.ts';
import { neg } from './neg.ts';

// y = erf x: dy/dx = (2/√π)·exp(−x²)
export const Erf = unaryPrimitive('Erf', ({ inputs: [x] }, ct) => {
  const xn = x as Node;
  return [mul(ct, mul(exp(neg(mul(xn, xn))), 2 / Math.sqrt(Math.PI)))];
});
export const erf = (x: Node): Node => apply(Erf, [x], {});
