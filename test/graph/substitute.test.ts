import { describe, expect, it } from 'vitest';
import {
  ShapeError,
  add,
  constant,
  exp,
  input,
  matmul,
  mul,
  reduceSum,
  substitute,
  topologicalOrder,
  type Node,
} from '../../src/graph/index.ts';
import type { HostTensor } from '../../src/runtime/index.ts';
import { evaluate, values } from '../helpers/gradcheck.ts';

/** f(x, y) = Σ_j (x·W)[i,j]·2 + exp(y)[i]: a branch on x and one on y that does not read x. */
function graph() {
  const x = input('x', 'float64', [2, 3]);
  const y = input('y', 'float64', [2]);
  const w = constant([1, 2, 3, 4, 5, 6], [3, 2], 'float64');
  const onX = reduceSum(mul(matmul(x, w), 2), [1]); // [2]
  const onY = exp(y); // [2]
  return { x, y, w, onX, onY, f: add(onX, onY) };
}
const xs = [1, 0, -1, 2, 1, 0.5];
const ys = [0, 1];
const feeds: Record<string, HostTensor> = {
  x: { dtype: 'float64', shape: [2, 3], data: Float64Array.from(xs) },
};
const yFeed: Record<string, HostTensor> = {
  y: { dtype: 'float64', shape: [2], data: Float64Array.from(ys) },
};

/** The reference f on host numbers, with x as rows of 3. */
const reference = (x: readonly number[], rows: number) =>
  Array.from({ length: rows }, (_, i) => {
    const r = x.slice(3 * i, 3 * i + 3) as [number, number, number];
    const xw = [r[0] + 3 * r[1] + 5 * r[2], 2 * r[0] + 4 * r[1] + 6 * r[2]] as [number, number];
    return 2 * (xw[0] + xw[1]) + Math.exp(ys[i] as number);
  });

describe('substitute', () => {
  it('rebuilds what reads a replaced node, and the result evaluates to the replaced computation', async () => {
    const { x, f } = graph();
    const [g] = substitute([f], new Map([[x, constant(xs, [2, 3], 'float64')]])) as [Node];
    expect(g).not.toBe(f);
    expect(topologicalOrder([g])).not.toContain(x);
    const out = await evaluate({ g }, yFeed);
    expect([...values(out.g)]).toEqual(reference(xs, 2).map((v) => expect.closeTo(v, 12)));
    // The original graph is untouched and still computes f(x, y).
    const before = await evaluate({ f }, { ...feeds, ...yFeed });
    expect([...values(before.f)]).toEqual([...values(out.g)]);
  });

  it('shares every node that does not read a replaced one', () => {
    const { x, y, w, onY, f } = graph();
    const [g] = substitute([f], new Map([[x, input('x2', 'float64', [2, 3])]])) as [Node];
    expect(g.inputs[1]).toBe(onY);
    const kept = new Set(topologicalOrder([g]));
    for (const node of [y, w, onY]) expect(kept.has(node)).toBe(true);
    // Outputs that reach no key come back as themselves; keys they do not reach are ignored.
    const [same, alsoSame] = substitute([onY, f], new Map([[input('z', 'float64', [2]), y]]));
    expect(same).toBe(onY);
    expect(alsoSame).toBe(f);
  });

  it('lets shapes follow the replacement, and throws where a user cannot take it', () => {
    const { x, f } = graph();
    const [one] = substitute([f], new Map([[x, input('x1', 'float64', [1, 3])]])) as [Node];
    expect(one.shape).toEqual([2]); // onX is [1] now, broadcast against exp(y) [2]
    expect(one.inputs[0]?.shape).toEqual([1]);
    expect(() => substitute([f], new Map([[x, input('x4', 'float64', [4, 3])]]))).toThrow(ShapeError);
  });

  it('takes a replacement as is: it may read the node it replaces, and nothing below a key is visited', async () => {
    const { x, onX, f } = graph();
    const [squared] = substitute([f], new Map([[x, mul(x, x)]])) as [Node];
    const out = await evaluate({ squared }, { ...feeds, ...yFeed });
    const expected = reference(
      xs.map((v) => v * v),
      2,
    );
    expect([...values(out.squared)]).toEqual(expected.map((v) => expect.closeTo(v, 12)));
    // x's replacement would not fit, but onX above it is replaced too, so x is never reached.
    const bad = new Map<Node, Node>([
      [x, input('x4', 'float64', [4, 3])],
      [onX, constant([0, 0], [2], 'float64')],
    ]);
    const [g] = substitute([f], bad) as [Node];
    expect(topologicalOrder([g])).not.toContain(x);
  });
});
