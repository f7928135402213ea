import { add, matmul, type Node } from '../graph/index.ts';

/** y = x·W + b with W stored [in, out]. */
export function linear(x: Node, weightInOut: Node, bias?: Node): Node {
  const y = matmul(x, weightInOut);
  return bias ? add(y, bias) : y;
}
