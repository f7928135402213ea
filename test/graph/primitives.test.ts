import { describe, expect, it } from 'vitest';
import {
  END,
  GraphError,
  ShapeError,
  add,
  argMax,
  cast,
  concat,
  constant,
  div,
  equal,
  erf,
  exp,
  expand,
  gather,
  gatherElements,
  gemm,
  grad,
  greater,
  greaterOrEqual,
  input,
  layerNormalization,
  less,
  lessOrEqual,
  log,
  logSoftmax,
  matmul,
  mul,
  neg,
  nonDifferentiable,
  oneHot,
  pad,
  pow,
  primitives,
  reduceMax,
  reduceMean,
  reduceSum,
  reshape,
  scatterAdd,
  sigmoid,
  slice,
  softmax,
  sqrt,
  squeeze,
  stopGradient,
  sub,
  tanh,
  topkIndices,
  topkValues,
  transpose,
  unsqueeze,
  where,
  type Node,
} from '../../src/graph/index.ts';
import {
  evaluate,
  gradcheck,
  values,
  type FixedInput,
  type GradcheckOptions,
  type InputSpec,
} from '../helpers/gradcheck.ts';

interface GradCase {
  name: string;
  build: (x: Node[], fixed: Node[]) => Node;
  inputs: InputSpec[];
  options?: GradcheckOptions;
}

const ints = (...v: number[]) => BigInt64Array.from(v, BigInt);
const indices = (shape: number[], ...v: number[]) => constant(ints(...v), shape, 'int64');
const s = (...shape: (number | string)[]): InputSpec => ({ shape });
const positive = (...shape: number[]): InputSpec => ({ shape, values: 'positive' });
const batch: GradcheckOptions = { sizes: { B: [1, 3] } };

/** Gradient checks for every differentiable primitive, keyed by the primitive's name in the op table. */
const gradChecks: Record<string, GradCase[]> = {
  MatMul: [
    { name: '[3,4] @ [4,2]', build: ([a, b]) => matmul(a!, b!), inputs: [s(3, 4), s(4, 2)] },
    {
      name: 'batch dims broadcast: [2,1,3,4] @ [5,4,2]',
      build: ([a, b]) => matmul(a!, b!),
      inputs: [s(2, 1, 3, 4), s(5, 4, 2)],
    },
    {
      name: 'a matrix against a batch: [3,4] @ [2,4,5]',
      build: ([a, b]) => matmul(a!, b!),
      inputs: [s(3, 4), s(2, 4, 5)],
    },
    {
      name: 'a symbolic batch: [B,3,4] @ [4,2]',
      build: ([a, b]) => matmul(a!, b!),
      inputs: [s('B', 3, 4), s(4, 2)],
      options: batch,
    },
    { name: 'fan-out: x @ x', build: ([a]) => matmul(a!, a!), inputs: [s(3, 3)] },
  ],
  Gemm: [
    {
      name: '[3,4]·[5,4]ᵀ + [3,5]',
      build: ([a, b, c]) => gemm(a!, b!, c!),
      inputs: [s(3, 4), s(5, 4), s(3, 5)],
    },
    {
      name: 'a symbolic row count: [B,4]·[2,4]ᵀ + [B,2]',
      build: ([a, b, c]) => gemm(a!, b!, c!),
      inputs: [s('B', 4), s(2, 4), s('B', 2)],
      options: batch,
    },
  ],
  Add: [
    { name: 'same shapes', build: ([a, b]) => add(a!, b!), inputs: [s(2, 3), s(2, 3)] },
    { name: '[2,3] + [3]', build: ([a, b]) => add(a!, b!), inputs: [s(2, 3), s(3)] },
    { name: 'size-1 axes: [2,1,4] + [3,1]', build: ([a, b]) => add(a!, b!), inputs: [s(2, 1, 4), s(3, 1)] },
    { name: 'a scalar and a matrix', build: ([a, b]) => add(a!, b!), inputs: [s(), s(2, 3)] },
    { name: 'two scalars', build: ([a, b]) => add(a!, b!), inputs: [s(), s()] },
    { name: 'a JS number', build: ([a]) => add(a!, 2.5), inputs: [s(2, 2)] },
    {
      name: 'a symbolic batch and a row',
      build: ([a, b]) => add(a!, b!),
      inputs: [s('B', 3), s(1, 3)],
      options: batch,
    },
  ],
  Sub: [
    { name: '[2,3] − [2,1]', build: ([a, b]) => sub(a!, b!), inputs: [s(2, 3), s(2, 1)] },
    { name: 'a scalar minus a vector', build: ([a, b]) => sub(a!, b!), inputs: [s(), s(3)] },
    { name: 'a JS number minus a node', build: ([a]) => sub(1, a!), inputs: [s(3)] },
  ],
  Mul: [
    { name: 'size-1 axes: [4,1] · [1,3]', build: ([a, b]) => mul(a!, b!), inputs: [s(4, 1), s(1, 3)] },
    { name: 'a matrix times a scalar', build: ([a, b]) => mul(a!, b!), inputs: [s(2, 3), s()] },
    { name: 'fan-out: x · x', build: ([a]) => mul(a!, a!), inputs: [s(2, 3)] },
  ],
  Div: [
    { name: '[2,3] / [3]', build: ([a, b]) => div(a!, b!), inputs: [s(2, 3), positive(3)] },
    { name: 'a scalar over a matrix', build: ([a, b]) => div(a!, b!), inputs: [s(), positive(2, 2)] },
    { name: 'a JS number over a node', build: ([a]) => div(2, a!), inputs: [positive(3)] },
  ],
  Neg: [
    { name: 'a matrix', build: ([a]) => neg(a!), inputs: [s(2, 3)] },
    { name: 'a scalar', build: ([a]) => neg(a!), inputs: [s()] },
  ],
  Pow: [
    { name: 'x³', build: ([a]) => pow(a!, 3), inputs: [s(2, 3)] },
    {
      name: 'x^0.5 and x^−1.5 on positives',
      build: ([a]) => add(pow(a!, 0.5), pow(a!, -1.5)),
      inputs: [positive(4)],
    },
    { name: 'a scalar squared', build: ([a]) => pow(a!, 2), inputs: [s()] },
  ],
  Sqrt: [{ name: 'positives', build: ([a]) => sqrt(a!), inputs: [positive(2, 3)] }],
  Exp: [{ name: 'a matrix', build: ([a]) => exp(a!), inputs: [s(2, 3)] }],
  Log: [{ name: 'positives', build: ([a]) => log(a!), inputs: [positive(3, 2)] }],
  Tanh: [{ name: 'a matrix', build: ([a]) => tanh(a!), inputs: [s(2, 3)] }],
  Erf: [{ name: 'a matrix (float32: no float64 kernel)', build: ([a]) => erf(a!), inputs: [s(2, 3)] }],
  Sigmoid: [{ name: 'a matrix', build: ([a]) => sigmoid(a!), inputs: [s(2, 3)] }],
  ReduceSum: [
    { name: 'one axis', build: ([a]) => reduceSum(a!, [1]), inputs: [s(2, 3, 4)] },
    { name: 'two axes, keepdims', build: ([a]) => reduceSum(a!, [0, 2], true), inputs: [s(2, 3, 4)] },
    { name: 'all axes to a scalar', build: ([a]) => reduceSum(a!, [0, 1]), inputs: [s(2, 3)] },
    {
      name: 'a negative axis over a symbolic batch',
      build: ([a]) => reduceSum(a!, [-1]),
      inputs: [s('B', 3)],
      options: batch,
    },
    {
      name: 'the symbolic axis itself',
      build: ([a]) => reduceSum(a!, [0], true),
      inputs: [s('B', 3)],
      options: batch,
    },
  ],
  ReduceMean: [
    { name: 'one axis', build: ([a]) => reduceMean(a!, [1]), inputs: [s(2, 3, 4)] },
    { name: 'two axes, keepdims', build: ([a]) => reduceMean(a!, [0, -1], true), inputs: [s(2, 3, 4)] },
    { name: 'a symbolic batch', build: ([a]) => reduceMean(a!, [1]), inputs: [s('B', 4)], options: batch },
  ],
  ReduceMax: [
    { name: 'one axis', build: ([a]) => reduceMax(a!, [1]), inputs: [s(3, 4)] },
    { name: 'two axes, keepdims', build: ([a]) => reduceMax(a!, [0, 2], true), inputs: [s(2, 3, 4)] },
  ],
  Softmax: [
    { name: 'the last axis', build: ([a]) => softmax(a!), inputs: [s(2, 5)] },
    { name: 'axis 0', build: ([a]) => softmax(a!, 0), inputs: [s(3, 4)] },
    { name: 'a symbolic batch', build: ([a]) => softmax(a!), inputs: [s('B', 2, 4)], options: batch },
  ],
  LogSoftmax: [
    { name: 'the last axis', build: ([a]) => logSoftmax(a!), inputs: [s(2, 5)] },
    { name: 'axis 0', build: ([a]) => logSoftmax(a!, 0), inputs: [s(3, 4)] },
    { name: 'a symbolic batch', build: ([a]) => logSoftmax(a!, -1), inputs: [s('B', 4)], options: batch },
  ],
  LayerNormalization: [
    {
      name: 'x, weight and bias over the last axis',
      build: ([x, w, b]) => layerNormalization(x!, w!, b!, 1e-5),
      inputs: [s(2, 3, 5), s(5), s(5)],
    },
    {
      name: 'a vector',
      build: ([x, w, b]) => layerNormalization(x!, w!, b!, 0.1),
      inputs: [s(4), s(4), s(4)],
    },
    {
      name: 'a symbolic batch',
      build: ([x, w, b]) => layerNormalization(x!, w!, b!, 1e-5),
      inputs: [s('B', 3), s(3), s(3)],
      options: batch,
    },
  ],
  Reshape: [
    { name: 'with −1', build: ([a]) => reshape(a!, [-1, 4]), inputs: [s(2, 3, 4)] },
    { name: 'adding size-1 axes', build: ([a]) => reshape(a!, [2, 1, 3]), inputs: [s(6)] },
    { name: 'to a scalar', build: ([a]) => reshape(a!, []), inputs: [s(1, 1)] },
    {
      name: 'merging a symbolic batch: [B,3,4] → [B,12] → [3B,4]',
      build: ([a]) => reshape(reshape(a!, ['B', -1]), [-1, 4]),
      inputs: [s('B', 3, 4)],
      options: batch,
    },
  ],
  Transpose: [
    { name: 'a permutation of 3 axes', build: ([a]) => transpose(a!, [2, 0, 1]), inputs: [s(2, 3, 4)] },
    { name: 'a symbolic batch', build: ([a]) => transpose(a!, [1, 0]), inputs: [s('B', 3)], options: batch },
  ],
  Unsqueeze: [
    { name: 'two new axes', build: ([a]) => unsqueeze(a!, [0, 3]), inputs: [s(2, 3)] },
    { name: 'a negative axis', build: ([a]) => unsqueeze(a!, [-1]), inputs: [s(3)] },
    { name: 'a scalar', build: ([a]) => unsqueeze(a!, [0]), inputs: [s()] },
  ],
  Squeeze: [
    { name: 'two size-1 axes', build: ([a]) => squeeze(a!, [1, 3]), inputs: [s(2, 1, 3, 1)] },
    { name: 'to a scalar', build: ([a]) => squeeze(a!, [0]), inputs: [s(1)] },
  ],
  Expand: [
    { name: '[3,1] → [2,3,4]', build: ([a]) => expand(a!, [2, 3, 4]), inputs: [s(3, 1)] },
    { name: 'a scalar → [2,2]', build: ([a]) => expand(a!, [2, 2]), inputs: [s()] },
    { name: 'to a smaller target shape', build: ([a]) => expand(a!, [1, 3]), inputs: [s(2, 1)] },
  ],
  Slice: [
    {
      name: 'a negative start to the end',
      build: ([a]) => slice(a!, [0, 1], [1, -3], [3, END]),
      inputs: [s(4, 5)],
    },
    { name: 'a negative end', build: ([a]) => slice(a!, [-1], [0], [-1]), inputs: [s(2, 4)] },
    { name: 'an end past the size (clamped)', build: ([a]) => slice(a!, [0], [2], [10]), inputs: [s(4)] },
    {
      name: 'the last two of a static axis under a symbolic batch',
      build: ([a]) => slice(a!, [1], [-2], [END]),
      inputs: [s('B', 5)],
      options: batch,
    },
    {
      name: 'a symbolic axis from 1 to the end',
      build: ([a]) => slice(a!, [0], [1], [END]),
      inputs: [s('B', 2)],
      options: { sizes: { B: [2, 4] } },
    },
  ],
  Pad: [
    { name: 'begin and end pads', build: ([a]) => pad(a!, [1, 0, 0, 2]), inputs: [s(2, 3)] },
    { name: 'a vector', build: ([a]) => pad(a!, [2, 1]), inputs: [s(3)] },
  ],
  Concat: [
    { name: 'three inputs on axis 1', build: (x) => concat(x, 1), inputs: [s(2, 3), s(2, 1), s(2, 2)] },
    { name: 'a negative axis', build: (x) => concat(x, -2), inputs: [s(1, 3), s(2, 3)] },
    { name: 'fan-out: [x, x]', build: ([a]) => concat([a!, a!], 0), inputs: [s(2)] },
    { name: 'a symbolic batch', build: (x) => concat(x, 1), inputs: [s('B', 2), s('B', 3)], options: batch },
  ],
  Gather: [
    {
      name: 'embedding rows, repeated',
      build: ([table]) => gather(table!, indices([4], 2, 0, 2, 4)),
      inputs: [s(5, 3)],
    },
    {
      name: '2-D indices into a vector',
      build: ([table]) => gather(table!, indices([2, 3], 1, 1, 0, 3, 2, 1)),
      inputs: [s(4)],
    },
    {
      name: 'symbolic [B,2] token indices',
      build: ([table], [ids]) => gather(table!, ids!),
      inputs: [s(6, 3)],
      options: { ...batch, fixed: [tokenIds(['B', 2], 6)] },
    },
  ],
  GatherElements: [
    {
      name: 'axis 1, repeated indices',
      build: ([a]) => gatherElements(a!, indices([3, 2], 0, 3, 1, 1, 2, 0), 1),
      inputs: [s(3, 4)],
    },
    {
      name: 'axis 0',
      build: ([a]) => gatherElements(a!, indices([1, 3], 2, 0, 1), 0),
      inputs: [s(3, 3)],
    },
  ],
  ScatterAdd: [
    {
      name: 'axis 1, repeated indices, data and updates',
      build: ([data, updates]) => scatterAdd(data!, indices([3, 2], 0, 3, 1, 1, 2, 0), updates!, 1),
      inputs: [s(3, 4), s(3, 2)],
    },
  ],
  Where: [
    {
      name: 'a fixed mask, a matrix and a scalar branch',
      build: ([a, b]) => where(greater(constant([1, -1, 2, 0, -3, 4], [2, 3], a!.dtype), 0), a!, b!),
      inputs: [s(2, 3), s()],
    },
    {
      name: 'leaky relu: a mask computed from the input',
      build: ([a]) => where(greater(a!, 0), a!, mul(a!, 0.1)),
      inputs: [s(3, 3)],
    },
  ],
  Cast: [
    {
      name: 'float64 → float32 → float64',
      build: ([a]) => mul(cast(mul(cast(a!, 'float32'), 3), 'float64'), a!),
      inputs: [{ shape: [2, 3], dtype: 'float64' }],
    },
  ],
};

function tokenIds(shape: (number | string)[], vocab: number): FixedInput {
  return {
    dtype: 'int64',
    shape,
    data: (concrete) =>
      BigInt64Array.from({ length: concrete.reduce((p, q) => p * q, 1) }, (_, i) =>
        BigInt((i * 5 + 1) % vocab),
      ),
  };
}

const differentiable = Object.values(primitives).filter((p) => p.vjp !== nonDifferentiable);
const nonDifferentiablePrimitives = Object.values(primitives).filter(
  (p) => p.vjp === nonDifferentiable && p.name !== 'Input' && p.name !== 'Constant',
);

describe('every differentiable primitive', () => {
  it('has a gradient check', () => {
    const unchecked = differentiable.map((p) => p.name).filter((name) => !gradChecks[name]?.length);
    expect(unchecked).toEqual([]);
    expect(Object.keys(gradChecks).filter((name) => !differentiable.some((p) => p.name === name))).toEqual(
      [],
    );
  });

  for (const [op, cases] of Object.entries(gradChecks))
    describe(op, () => {
      it.each(cases)('passes the gradient check: $name', async ({ build, inputs, options }) => {
        const report = await gradcheck(build, inputs, options);
        expect(report.ops).toContain(op);
        expect(report.runs.length).toBe(options?.sizes ? 2 : 1);
      });
    });
});

describe('the non-differentiable primitives', () => {
  const forwardChecked = [
    'StopGradient',
    'OneHot',
    'TopK',
    'ArgMax',
    'Equal',
    'Less',
    'LessOrEqual',
    'Greater',
    'GreaterOrEqual',
  ];

  it('all have forward checks', () => {
    expect(nonDifferentiablePrimitives.map((p) => p.name).filter((n) => !forwardChecked.includes(n))).toEqual(
      [],
    );
  });

  it('compute OneHot, TopK, ArgMax and the comparisons like plain TypeScript', async () => {
    const x = input('x', 'float64', [2, 5]);
    const ids = input('ids', 'int64', [3]);
    const row = constant([0.5, -1, 3, 0.5, 2], [5], 'float64');
    const out = await evaluate(
      {
        oneHot32: oneHot(ids, 4),
        oneHot64: oneHot(ids, 4, 'float64'),
        topValues: topkValues(x, 3),
        topIndices: topkIndices(x, 3),
        bottomValues: topkValues(x, 2, -1, false),
        argMaxLast: argMax(x),
        argMaxFirst: argMax(x, 0, true),
        equal: equal(x, row),
        less: less(x, row),
        lessOrEqual: lessOrEqual(x, row),
        greater: greater(x, row),
        greaterOrEqual: greaterOrEqual(x, 0.5),
      },
      {
        x: {
          dtype: 'float64',
          shape: [2, 5],
          data: Float64Array.from([0.5, 4, -2, 1, 3, 7, -1, 3, 0.5, -5]),
        },
        ids: { dtype: 'int64', shape: [3], data: ints(2, 0, 3) },
      },
    );
    const list = (name: string) => Array.from(out[name]!.data as ArrayLike<number | bigint>, Number);
    const oneHotRows = [0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 1];
    expect(out['oneHot32']).toMatchObject({ dtype: 'float32', shape: [3, 4] });
    expect(list('oneHot32')).toEqual(oneHotRows);
    expect(out['oneHot64']).toMatchObject({ dtype: 'float64', shape: [3, 4] });
    expect(list('oneHot64')).toEqual(oneHotRows);
    expect(out['topValues']!.shape).toEqual([2, 3]);
    expect(list('topValues')).toEqual([4, 3, 1, 7, 3, 0.5]);
    expect(out['topIndices']!.dtype).toBe('int64');
    expect(list('topIndices')).toEqual([1, 4, 3, 0, 2, 3]);
    expect(list('bottomValues')).toEqual([-2, 0.5, -5, -1]);
    expect(list('argMaxLast')).toEqual([1, 0]);
    expect(out['argMaxFirst']!.shape).toEqual([1, 5]);
    expect(list('argMaxFirst')).toEqual([1, 0, 1, 0, 0]);
    // x = [[0.5, 4, −2, 1, 3], [7, −1, 3, 0.5, −5]] against the row [0.5, −1, 3, 0.5, 2]
    expect(out['equal']!.dtype).toBe('bool');
    expect(list('equal')).toEqual([1, 0, 0, 0, 0, 0, 1, 1, 1, 0]);
    expect(list('less')).toEqual([0, 0, 1, 0, 0, 0, 0, 0, 0, 1]);
    expect(list('lessOrEqual')).toEqual([1, 0, 1, 0, 0, 0, 1, 1, 1, 1]);
    expect(list('greater')).toEqual([0, 1, 0, 1, 1, 1, 0, 0, 0, 0]);
    expect(list('greaterOrEqual')).toEqual([1, 1, 0, 1, 1, 1, 0, 1, 1, 0]);
  });

  it('stop gradients cleanly: zeros through ArgMax, OneHot, TopK and comparisons, no throw', async () => {
    const x = input('x', 'float64', [2, 3]);
    const throughArgMax = reduceSum(cast(argMax(x), 'float64'), [0]);
    const throughOneHot = reduceSum(oneHot(argMax(x), 3, 'float64'), [0, 1]);
    const throughTopK = reduceSum(topkValues(x, 2), [0, 1]);
    const throughComparison = reduceSum(cast(greater(x, 0), 'float64'), [0, 1]);
    // Only the Mul path carries a gradient: d/dx Σ onehot(argmax x) ⊙ x = onehot(argmax x).
    const mixed = reduceSum(mul(oneHot(argMax(x), 3, 'float64'), x), [0, 1]);
    const outputs = {
      argMax: grad(throughArgMax, [x])[0]!,
      oneHot: grad(throughOneHot, [x])[0]!,
      topK: grad(throughTopK, [x])[0]!,
      comparison: grad(throughComparison, [x])[0]!,
      mixed: grad(mixed, [x])[0]!,
    };
    const data = Float64Array.from([0.5, -2, 1.5, 3, 1, -1]);
    const out = await evaluate(outputs, { x: { dtype: 'float64', shape: [2, 3], data } });
    for (const name of ['argMax', 'oneHot', 'topK', 'comparison'])
      expect({ name, grad: Array.from(values(out[name])) }).toEqual({ name, grad: [0, 0, 0, 0, 0, 0] });
    expect(Array.from(values(out['mixed']))).toEqual([0, 0, 1, 1, 0, 0]);
  });
});

describe('StopGradient', () => {
  it('is x in value and a constant to grad: d/dx Σ x · stopGradient(x) = x, not 2x', async () => {
    const x = input('x', 'float64', [2, 3]);
    const [dx] = grad(reduceSum(mul(x, stopGradient(x)), [0, 1]), [x]);
    const [dOnly] = grad(reduceSum(stopGradient(mul(x, x)), [0, 1]), [x]);
    const [dBoth] = grad(reduceSum(mul(x, x), [0, 1]), [x]);
    const data = Float64Array.from([0.5, -2, 1.5, 3, 1, -1]);
    const out = await evaluate(
      { value: stopGradient(x), dx: dx!, dOnly: dOnly!, dBoth: dBoth! },
      { x: { dtype: 'float64', shape: [2, 3], data } },
    );
    expect(out['value']).toMatchObject({ dtype: 'float64', shape: [2, 3] });
    expect(Array.from(values(out['value']))).toEqual(Array.from(data));
    expect(Array.from(values(out['dx']))).toEqual(Array.from(data));
    expect(Array.from(values(out['dOnly']))).toEqual([0, 0, 0, 0, 0, 0]);
    expect(Array.from(values(out['dBoth']))).toEqual(Array.from(data, (v) => 2 * v));
  });

  it('is non-differentiable, so the gradient-check coverage treats it as such', () => {
    expect(primitives.StopGradient.vjp).toBe(nonDifferentiable);
  });
});

describe('shape errors', () => {
  const a = input('a', 'float32', [2, 3]);
  const thrown = (f: () => unknown): Error => {
    try {
      f();
    } catch (e) {
      return e as Error;
    }
    throw new Error('expected an error');
  };

  it('name a MatMul inner-dim mismatch with both shapes', () => {
    const e = thrown(() => matmul(a, input('b', 'float32', [4, 5])));
    expect(e).toBeInstanceOf(GraphError);
    expect(e.message).toMatch(/MatMul: inner dims 3 and 4 differ: \[2,3\] @ \[4,5\]/);
  });

  it('name a Gemm mismatch with every shape', () => {
    const b = input('b', 'float32', [5, 3]);
    const inner = thrown(() => gemm(a, input('b4', 'float32', [5, 4]), input('c', 'float32', [2, 5])));
    expect(inner).toBeInstanceOf(GraphError);
    expect(inner.message).toMatch(/Gemm: inner dims 3 and 4 differ: \[2,3\] · \[5,4\]ᵀ \+ \[2,5\]/);
    const addend = thrown(() => gemm(a, b, input('c', 'float32', [5, 2])));
    expect(addend.message).toMatch(/Gemm: the addend must be \[2,5\]/);
    const rank = thrown(() => gemm(a, b, input('c', 'float32', [5])));
    expect(rank.message).toMatch(/Gemm: every operand must be a matrix/);
  });

  it('name an Add broadcasting mismatch with both shapes', () => {
    const e = thrown(() => add(a, input('b', 'float32', [4])));
    expect(e).toBeInstanceOf(ShapeError);
    expect(e.message).toMatch(/cannot broadcast \[2,3\] with \[4\]/);
  });

  it('name a Reshape element-count mismatch with both shapes', () => {
    const e = thrown(() => reshape(a, [4, 2]));
    expect(e).toBeInstanceOf(GraphError);
    expect(e.message).toMatch(/Reshape \[2,3\] → \[4,2\]: 6 elements vs 8/);
    expect(thrown(() => reshape(a, [4, -1])).message).toMatch(/Reshape \[2,3\] → \[4,-1\]/);
  });

  it('name an axis out of range with the rank', () => {
    const e = thrown(() => reduceSum(a, [2]));
    expect(e).toBeInstanceOf(ShapeError);
    expect(e.message).toMatch(/ReduceSum axis 2 is out of range for rank 2 \(expected -2\.\.1\)/);
    expect(thrown(() => softmax(a, -3)).message).toMatch(/axis -3 is out of range for rank 2/);
  });

  it('name mixed dtypes', () => {
    const e = thrown(() => add(a, input('b', 'float64', [2, 3])));
    expect(e.message).toMatch(/Add: operands must share a dtype, got float32\[2,3\], float64\[2,3\]/);
  });
});
