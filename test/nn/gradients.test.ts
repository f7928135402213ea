import { describe, expect, it } from 'vitest';
import { constant, softmax, type Node } from '../../src/graph/index.ts';
import {
  applyRotary,
  attention,
  crossEntropy,
  gelu,
  geluTanh,
  layerNorm,
  linear,
  nextTokenXent,
  rmsNorm,
  rotaryTable,
  silu,
} from '../../src/nn/index.ts';
import { gradcheck, type InputSpec } from '../helpers/gradcheck.ts';

const positions = (T: number, from = 0) =>
  constant(
    Array.from({ length: T }, (_, t) => from + t),
    [T],
    'int64',
  );

/** Every composite of src/nn with the inputs its gradient is checked at (all differentiated). */
const composites: [string, (xs: Node[]) => Node, InputSpec[]][] = [
  ['linear', ([x, w, b]) => linear(x!, w!, b!), [{ shape: ['B', 3, 4] }, { shape: [4, 5] }, { shape: [5] }]],
  [
    'layerNorm',
    ([x, w, b]) => layerNorm(x!, w!, b!, 1e-5),
    [{ shape: ['B', 3, 6] }, { shape: [6] }, { shape: [6] }],
  ],
  ['rmsNorm', ([x, w]) => rmsNorm(x!, w!, 1e-6), [{ shape: ['B', 3, 6] }, { shape: [6] }]],
  ['gelu', ([x]) => gelu(x!), [{ shape: ['B', 7] }]],
  ['geluTanh', ([x]) => geluTanh(x!), [{ shape: ['B', 7] }]],
  ['silu', ([x]) => silu(x!), [{ shape: ['B', 7] }]],
  [
    'applyRotary (interleaved)',
    ([x]) => applyRotary(x!, positions(3, 2), rotaryTable(8, 8, 10000, 'interleaved', { dtype: 'float64' })),
    [{ shape: ['B', 2, 3, 8] }],
  ],
  [
    'applyRotary (rotate-half, partial)',
    ([x]) =>
      applyRotary(
        x!,
        positions(3),
        rotaryTable(8, 8, 10000, 'rotate-half', { rotaryDim: 4, dtype: 'float64' }),
      ),
    [{ shape: ['B', 2, 3, 8] }],
  ],
  [
    'attention (GQA)',
    ([q, k, v]) => attention(q!, k!, v!, positions(3), positions(3)).out,
    [{ shape: ['B', 4, 3, 2] }, { shape: ['B', 2, 3, 2] }, { shape: ['B', 2, 3, 2] }],
  ],
  [
    'attention pattern with a cache of earlier keys',
    ([q, k, v]) => attention(q!, k!, v!, positions(2, 3), positions(5)).pattern,
    [{ shape: [1, 2, 2, 4] }, { shape: [1, 2, 5, 4] }, { shape: [1, 2, 5, 4] }],
  ],
  [
    'crossEntropy',
    ([logits, targets]) => crossEntropy(logits!, softmax(targets!)),
    [{ shape: ['B', 3, 5] }, { shape: ['B', 3, 5] }],
  ],
  [
    'nextTokenXent',
    ([logits, tokens]) => nextTokenXent(logits!, softmax(tokens!)),
    [{ shape: ['B', 4, 5] }, { shape: ['B', 4, 5] }],
  ],
];

describe('the composites of src/nn', () => {
  it.each(composites)('%s has a gradient that matches central differences', async (_, build, inputs) => {
    const symbolic = inputs.some((s) => s.shape.includes('B'));
    const report = await gradcheck(build, inputs, symbolic ? { sizes: { B: [1, 2] } } : {});
    expect(report.runs.length).toBeGreaterThan(0);
  });
});
