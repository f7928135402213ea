import { isFloat } from './dtype.ts';
import { topologicalOrder, type Node } from './node.ts';
import { GraphError, nonDifferentiable } from './primitive.ts';
import { formatShape, sameShape, type Shape } from './shape.ts';
import { add } from './ops/add.ts';
import { expand } from './ops/expand.ts';
import { scalar } from './ops/leaf.ts';
import { reduceSum } from './ops/reduce.ts';
import { reshape } from './ops/reshape.ts';

/** Sums a cotangent of a broadcast result back to the shape of the operand that was broadcast. */
export function unbroadcast(ct: Node, shape: Shape): Node {
  if (sameShape(ct.shape, shape)) return ct;
  const extra = ct.rank - shape.length;
  let result = extra > 0 ? reduceSum(ct, [...Array(extra).keys()]) : ct;
  const ones = shape.flatMap((d, i) => (d === 1 && result.shape[i] !== 1 ? [i] : []));
  if (ones.length > 0) result = reduceSum(result, ones, true);
  return sameShape(result.shape, shape) ? result : reshape(result, shape);
}

const zerosLike = (x: Node): Node => expand(scalar(0, x.dtype), x.shape);

/**
 * Reverse-mode autodiff: the gradients of a scalar `output` with respect to `wrt`, as new nodes in the
 * same graph. Weights are constants, so only the activations on paths from `wrt` get backward nodes;
 * paths through non-differentiable primitives stop there.
 */
export function grad(output: Node, wrt: readonly Node[]): Node[] {
  if (output.rank !== 0 || !isFloat(output.dtype))
    throw new GraphError(
      `grad needs a float scalar output, got ${output.dtype}${formatShape(output.shape)}; reduce it first`,
    );
  const order = topologicalOrder([output]);
  const wrtIds = new Set(wrt.map((w) => w.id));
  const dependsOnWrt = new Set<number>();
  for (const node of order)
    if (wrtIds.has(node.id) || node.inputs.some((i) => dependsOnWrt.has(i.id))) dependsOnWrt.add(node.id);

  const cotangents = new Map<number, Node>([[output.id, scalar(1, output.dtype)]]);
  for (let n = order.length - 1; n >= 0; n--) {
    const node = order[n] as Node;
    const ct = cotangents.get(node.id);
    const { vjp } = node.primitive;
    if (!ct || !dependsOnWrt.has(node.id) || vjp === nonDifferentiable) continue;
    const inputCts = vjp(node, ct);
    node.inputs.forEach((input, i) => {
      const inputCt = inputCts[i];
      if (!inputCt || !dependsOnWrt.has(input.id) || !isFloat(input.dtype)) return;
      const shaped = unbroadcast(inputCt, input.shape);
      const previous = cotangents.get(input.id);
      cotangents.set(input.id, previous ? add(previous, shaped) : shaped);
    });
  }
  return wrt.map((w) => cotangents.get(w.id) ?? zerosLike(w));
}
