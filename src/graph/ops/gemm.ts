import { apply, type Node } from '../node.ts';
import { definePrimitive, GraphError } from '../primitive.ts';
import { formatShape, isSymbolic, sameDim, type Dim } from '../shape.ts';
import { requireFloat, sameDTypes } from './common.ts';
import { matmul } from './matmul.ts';
import { transpose } from './transpose.ts';

/**
 * a·bᵀ + c for a [M,K], b [N,K], c [M,N]: ONNX Gemm (transB = 1). One pass where a MatMul and an Add take
 * two, and ONNX Runtime's CPU kernel accumulates into c's buffer when nothing else reads c, so no second
 * [M,N] buffer is formed: worth it where [M,N] is vocabulary-wide.
 */
export const Gemm = definePrimitive<Record<string, never>>({
  name: 'Gemm',
  infer: (inputs) => {
    const dtype = sameDTypes('Gemm', inputs);
    const [a, b, c] = inputs as [(typeof inputs)[0], (typeof inputs)[0], (typeof inputs)[0]];
    requireFloat('Gemm', a);
    const fail = (why: string) =>
      new GraphError(
        `Gemm: ${why}: ${formatShape(a.shape)} · ${formatShape(b.shape)}ᵀ + ${formatShape(c.shape)}`,
      );
    if (a.shape.length !== 2 || b.shape.length !== 2 || c.shape.length !== 2)
      throw fail('every operand must be a matrix');
    const agree = (x: Dim, y: Dim) => sameDim(x, y) || isSymbolic(x) || isSymbolic(y);
    const [m, k] = a.shape as [Dim, Dim];
    const [n, k2] = b.shape as [Dim, Dim];
    if (!agree(k, k2)) throw fail(`inner dims ${k} and ${k2} differ`);
    if (!agree(c.shape[0] as Dim, m) || !agree(c.shape[1] as Dim, n))
      throw fail(`the addend must be [${m},${n}]`);
    return { dtype, shape: [m, n] };
  },
  lower: (node, ctx) =>
    ctx.emit(
      'Gemm',
      node.inputs.map((i) => ctx.name(i)),
      [ctx.name(node)],
      { transB: { int: 1 } },
    ),
  // y = a·bᵀ + c: da = dy·b, db = dyᵀ·a, dc = dy
  vjp: ({ inputs: [a, b] }, ct) => [matmul(ct, b as Node), matmul(transpose(ct, [1, 0]), a as Node), ct],
});

export const gemm = (a: Node, b: Node, c: Node): Node => apply(Gemm, [a, b, c], {});
