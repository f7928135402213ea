import { describe, expect, it } from 'vitest';
import {
  add,
  constant,
  grad,
  input,
  logSoftmax,
  matmul,
  mul,
  neg,
  printGraph,
  reduceSum,
  tanh,
} from '../../src/graph/index.ts';

/** A two-layer MLP over a symbolic batch with a cross-entropy loss against soft targets. */
function mlp() {
  const x = input('x', 'float32', ['B', 4]);
  const targets = input('targets', 'float32', ['B', 3]);
  const w1 = constant(new Float32Array(4 * 8), [4, 8]);
  const b1 = constant(new Float32Array(8), [8]);
  const w2 = constant(new Float32Array(8 * 3), [8, 3]);
  const b2 = constant(new Float32Array(3), [3]);
  const hidden = tanh(add(matmul(x, w1), b1));
  const logits = add(matmul(hidden, w2), b2);
  const loss = neg(reduceSum(mul(logSoftmax(logits), targets), [0, 1]));
  return { x, logits, loss };
}

describe('the printer', () => {
  it('prints the forward graph of a small MLP one node per line', () => {
    const { logits, loss } = mlp();
    expect(printGraph({ logits, loss })).toMatchInlineSnapshot(`
      "%0:f32[B,4] = Input "x"
      %1:f32[4,8] = Constant
      %2:f32[B,8] = MatMul %0 %1
      %3:f32[8] = Constant
      %4:f32[B,8] = Add %2 %3
      %5:f32[B,8] = Tanh %4
      %6:f32[8,3] = Constant
      %7:f32[B,3] = MatMul %5 %6
      %8:f32[3] = Constant
      %9:f32[B,3] = Add %7 %8
      %10:f32[B,3] = LogSoftmax %9 {axis=-1}
      %11:f32[B,3] = Input "targets"
      %12:f32[B,3] = Mul %10 %11
      %13:f32[] = ReduceSum %12 {axes=[0,1], keepdims=false}
      %14:f32[] = Neg %13
      out logits = %9
      out loss = %14"
    `);
  });

  it('prints the loss and its gradient with respect to the input as one graph', () => {
    const { x, loss } = mlp();
    const [dx] = grad(loss, [x]);
    expect(printGraph({ loss, dx: dx! })).toMatchInlineSnapshot(`
      "%0:f32[B,4] = Input "x"
      %1:f32[4,8] = Constant
      %2:f32[B,8] = MatMul %0 %1
      %3:f32[8] = Constant
      %4:f32[B,8] = Add %2 %3
      %5:f32[B,8] = Tanh %4
      %6:f32[8,3] = Constant
      %7:f32[B,3] = MatMul %5 %6
      %8:f32[3] = Constant
      %9:f32[B,3] = Add %7 %8
      %10:f32[B,3] = LogSoftmax %9 {axis=-1}
      %11:f32[B,3] = Input "targets"
      %12:f32[B,3] = Mul %10 %11
      %13:f32[] = ReduceSum %12 {axes=[0,1], keepdims=false}
      %14:f32[] = Neg %13
      %15:f32[] = Constant 1
      %16:f32[] = Neg %15
      %17:f32[1,1] = Reshape %16 {shape=[1,1]}
      %18:f32[B,3] = Expand %17 {shape=[B,3]}
      %19:f32[B,3] = Mul %18 %11
      %20:f32[B,3] = Exp %10
      %21:f32[B,1] = ReduceSum %19 {axes=[-1], keepdims=true}
      %22:f32[B,3] = Mul %20 %21
      %23:f32[B,3] = Sub %19 %22
      %24:f32[3,8] = Transpose %6 {perm=[1,0]}
      %25:f32[B,8] = MatMul %23 %24
      %26:f32[] = Constant 1
      %27:f32[B,8] = Mul %5 %5
      %28:f32[B,8] = Sub %26 %27
      %29:f32[B,8] = Mul %25 %28
      %30:f32[8,4] = Transpose %1 {perm=[1,0]}
      %31:f32[B,4] = MatMul %29 %30
      out loss = %14
      out dx = %31"
    `);
  });

  it('is what String(node) shows', () => {
    const { loss } = mlp();
    expect(String(loss)).toBe(printGraph([loss]));
    expect(String(loss).split('\n').at(-1)).toMatch(/^%\d+:f32\[\] = Neg %\d+$/);
  });
});
