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
  reduceSum,
  tanh,
} from '../../src/graph/index.ts';
import { evaluate, rng, values } from '../helpers/gradcheck.ts';

/** Plain row-major matrices for the closed form. */
type Matrix = { rows: number; cols: number; data: Float64Array };
const matrix = (rows: number, cols: number, f: (i: number, j: number) => number): Matrix => ({
  rows,
  cols,
  data: Float64Array.from({ length: rows * cols }, (_, k) => f(Math.floor(k / cols), k % cols)),
});
const at = (m: Matrix, i: number, j: number): number => m.data[i * m.cols + j] as number;
const matmulTs = (a: Matrix, b: Matrix): Matrix =>
  matrix(a.rows, b.cols, (i, j) => {
    let sum = 0;
    for (let k = 0; k < a.cols; k++) sum += at(a, i, k) * at(b, k, j);
    return sum;
  });
const transposeTs = (a: Matrix): Matrix => matrix(a.cols, a.rows, (i, j) => at(a, j, i));
const map = (a: Matrix, f: (v: number, i: number, j: number) => number): Matrix =>
  matrix(a.rows, a.cols, (i, j) => f(at(a, i, j), i, j));

describe('a one-hot → embedding → two-layer tanh network → cross-entropy graph', () => {
  it('has the closed-form gradient with respect to its one-hot input', async () => {
    const [T, V, D, H, O] = [3, 7, 4, 5, 6];
    const random = rng(42);
    const normal = (rows: number, cols: number) => matrix(rows, cols, () => random.normal());
    const embedding = normal(V, D);
    const w1 = normal(D, H);
    const b1 = normal(1, H);
    const w2 = normal(H, O);
    const b2 = normal(1, O);
    const tokens = [4, 0, 4];
    const targets = [2, 5, 0];
    const oneHotTs = matrix(T, V, (t, v) => (tokens[t] === v ? 1 : 0));
    const targetMask = matrix(T, O, (t, o) => (targets[t] === o ? 1 : 0));

    // The graph: loss = −Σₜ log softmax(tanh(X·E·W₁ + b₁)·W₂ + b₂)ₜ[targetₜ]
    const c = (m: Matrix) => constant(m.data, [m.rows, m.cols], 'float64');
    const x = input('x', 'float64', [T, V]);
    const hidden = tanh(add(matmul(matmul(x, c(embedding)), c(w1)), c(b1)));
    const logits = add(matmul(hidden, c(w2)), c(b2));
    const loss = neg(reduceSum(mul(logSoftmax(logits), c(targetMask)), [0, 1]));
    const [dx] = grad(loss, [x]);
    const out = await evaluate(
      { loss, dx: dx! },
      { x: { dtype: 'float64', shape: [T, V], data: oneHotTs.data } },
    );

    // The closed form: dy = softmax(y) − onehot(target), dh = dy·W₂ᵀ, dz = dh ⊙ (1 − h²), dX = dz·W₁ᵀ·Eᵀ.
    const z = map(matmulTs(matmulTs(oneHotTs, embedding), w1), (v, _, j) => v + at(b1, 0, j));
    const h = map(z, Math.tanh);
    const y = map(matmulTs(h, w2), (v, _, j) => v + at(b2, 0, j));
    const logSumExp = Array.from({ length: T }, (_, t) => {
      const row = Array.from({ length: O }, (_, o) => at(y, t, o));
      const max = Math.max(...row);
      return max + Math.log(row.reduce((s, v) => s + Math.exp(v - max), 0));
    });
    const expectedLoss = targets.reduce((s, target, t) => s + logSumExp[t]! - at(y, t, target), 0);
    const dy = map(y, (v, t, o) => Math.exp(v - logSumExp[t]!) - at(targetMask, t, o));
    const dh = matmulTs(dy, transposeTs(w2));
    const dz = map(dh, (v, t, j) => v * (1 - at(h, t, j) ** 2));
    const dX = matmulTs(matmulTs(dz, transposeTs(w1)), transposeTs(embedding));

    expect(values(out['loss'])[0]).toBeCloseTo(expectedLoss, 12);
    expect(out['dx']!.shape).toEqual([T, V]);
    const got = values(out['dx']);
    const scale = Math.max(...dX.data.map(Math.abs));
    got.forEach((v, k) => expect(Math.abs(v - (dX.data[k] as number))).toBeLessThan(1e-12 * scale));
    // Rows of a token repeated (positions 0 and 2 both hold token 4) still differ: the targets differ.
    expect(got.slice(0, V)).not.toEqual(got.slice(2 * V, 3 * V));
  });
});
