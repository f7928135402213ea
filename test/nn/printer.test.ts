import { describe, expect, it } from 'vitest';
import { constant, grad, input, mul, printGraph, reduceSum } from '../../src/graph/index.ts';
import { attention } from '../../src/nn/index.ts';

/** Causal attention of 2 query heads over 1 kv head (GQA) on a symbolic batch, 3 positions. */
function attend() {
  const q = input('q', 'float32', ['B', 2, 3, 4]);
  const k = input('k', 'float32', ['B', 1, 3, 4]);
  const v = input('v', 'float32', ['B', 1, 3, 4]);
  const positions = constant([0, 1, 2], [3], 'int64');
  return { q, ...attention(q, k, v, positions, positions) };
}

describe('the printed attention graph', () => {
  it('shows the scores, causal mask, softmax and GQA repeat', () => {
    const { out, pattern } = attend();
    expect(printGraph({ out, pattern })).toMatchInlineSnapshot(`
      "%0:i64[3] = Constant
      %1:i64[1,3] = Unsqueeze %0 {axes=[0]}
      %2:i64[3,1] = Unsqueeze %0 {axes=[1]}
      %3:bool[3,3] = LessOrEqual %1 %2
      %4:f32[B,2,3,4] = Input "q"
      %5:f32[B,1,3,4] = Input "k"
      %6:f32[B,1,1,3,4] = Unsqueeze %5 {axes=[2]}
      %7:f32[B,1,2,3,4] = Expand %6 {shape=[B,1,2,3,4]}
      %8:f32[B,2,3,4] = Reshape %7 {shape=[B,2,3,4]}
      %9:f32[B,2,4,3] = Transpose %8 {perm=[0,1,3,2]}
      %10:f32[B,2,3,3] = MatMul %4 %9
      %11:f32[] = Constant 2
      %12:f32[B,2,3,3] = Div %10 %11
      %13:f32[] = Constant -Infinity
      %14:f32[B,2,3,3] = Where %3 %12 %13
      %15:f32[B,2,3,3] = Softmax %14 {axis=-1}
      %16:f32[B,1,3,4] = Input "v"
      %17:f32[B,1,1,3,4] = Unsqueeze %16 {axes=[2]}
      %18:f32[B,1,2,3,4] = Expand %17 {shape=[B,1,2,3,4]}
      %19:f32[B,2,3,4] = Reshape %18 {shape=[B,2,3,4]}
      %20:f32[B,2,3,4] = MatMul %15 %19
      out out = %20
      out pattern = %15"
    `);
  });

  it('shows the gradient of a loss on the output with respect to the queries', () => {
    const { q, out } = attend();
    const loss = reduceSum(mul(out, out), [0, 1, 2, 3]);
    const [dq] = grad(loss, [q]);
    expect(printGraph({ dq: dq! })).toMatchInlineSnapshot(`
      "%0:i64[3] = Constant
      %1:i64[1,3] = Unsqueeze %0 {axes=[0]}
      %2:i64[3,1] = Unsqueeze %0 {axes=[1]}
      %3:bool[3,3] = LessOrEqual %1 %2
      %4:f32[B,2,3,4] = Input "q"
      %5:f32[B,1,3,4] = Input "k"
      %6:f32[B,1,1,3,4] = Unsqueeze %5 {axes=[2]}
      %7:f32[B,1,2,3,4] = Expand %6 {shape=[B,1,2,3,4]}
      %8:f32[B,2,3,4] = Reshape %7 {shape=[B,2,3,4]}
      %9:f32[B,2,4,3] = Transpose %8 {perm=[0,1,3,2]}
      %10:f32[B,2,3,3] = MatMul %4 %9
      %11:f32[] = Constant 2
      %12:f32[B,2,3,3] = Div %10 %11
      %13:f32[] = Constant -Infinity
      %14:f32[B,2,3,3] = Where %3 %12 %13
      %15:f32[B,2,3,3] = Softmax %14 {axis=-1}
      %16:f32[] = Constant 1
      %17:f32[1,1,1,1] = Reshape %16 {shape=[1,1,1,1]}
      %18:f32[B,2,3,4] = Expand %17 {shape=[B,2,3,4]}
      %19:f32[B,1,3,4] = Input "v"
      %20:f32[B,1,1,3,4] = Unsqueeze %19 {axes=[2]}
      %21:f32[B,1,2,3,4] = Expand %20 {shape=[B,1,2,3,4]}
      %22:f32[B,2,3,4] = Reshape %21 {shape=[B,2,3,4]}
      %23:f32[B,2,3,4] = MatMul %15 %22
      %24:f32[B,2,3,4] = Mul %18 %23
      %25:f32[B,2,3,4] = Mul %18 %23
      %26:f32[B,2,3,4] = Add %24 %25
      %27:f32[B,2,4,3] = Transpose %22 {perm=[0,1,3,2]}
      %28:f32[B,2,3,3] = MatMul %26 %27
      %29:f32[B,2,3,3] = Mul %28 %15
      %30:f32[B,2,3,1] = ReduceSum %29 {axes=[-1], keepdims=true}
      %31:f32[B,2,3,3] = Sub %28 %30
      %32:f32[B,2,3,3] = Mul %15 %31
      %33:f32[] = Constant 0
      %34:f32[B,2,3,3] = Where %3 %32 %33
      %35:f32[B,2,3,3] = Div %34 %11
      %36:f32[B,2,3,4] = Transpose %9 {perm=[0,1,3,2]}
      %37:f32[B,2,3,4] = MatMul %35 %36
      out dq = %37"
    `);
  });
});
