import { describe, expect, it } from 'vitest';
import { constant, grad, input, matmul, mul, reduceSum, softmax, tanh } from '../../src/graph/index.ts';
import { nodeRuntime, type HostTensor, type Runtime } from '../../src/runtime/index.ts';
import { webRuntime } from '../../src/runtime/web.ts';

/** A small MLP with a softmax and its input gradient, on a symbolic batch. */
function graph() {
  const x = input('x', 'float32', ['B', 4]);
  const w1 = constant(
    Array.from({ length: 12 }, (_, i) => Math.sin(i)),
    [4, 3],
  );
  const w2 = constant(
    Array.from({ length: 6 }, (_, i) => Math.cos(i)),
    [3, 2],
  );
  const y = softmax(matmul(tanh(matmul(x, w1)), w2));
  const loss = reduceSum(mul(y, y), [0, 1]);
  const [dx] = grad(loss, [x]);
  return { y, loss, dx: dx! };
}

async function evaluate(
  runtime: Runtime,
  externalDataThreshold?: number,
): Promise<Record<string, HostTensor>> {
  const session = await runtime.compile({
    outputs: graph(),
    threads: 1,
    ...(externalDataThreshold === undefined ? {} : { externalDataThreshold }),
  });
  try {
    const data = Float32Array.from({ length: 12 }, (_, i) => (i - 6) / 5);
    return await session.run({ x: { dtype: 'float32', shape: [3, 4], data } });
  } finally {
    await session.dispose();
  }
}

describe('the onnxruntime-web runtime (WebAssembly, here in Node)', () => {
  it('computes what the Node runtime computes, gradients and external weights included', async () => {
    const expected = await evaluate(nodeRuntime);
    for (const threshold of [undefined, 32]) {
      const got = await evaluate(webRuntime, threshold);
      for (const name of ['y', 'loss', 'dx']) {
        expect(got[name]!.shape).toEqual(expected[name]!.shape);
        Array.from(got[name]!.data as Float32Array).forEach((v, i) =>
          expect(v).toBeCloseTo((expected[name]!.data as Float32Array)[i]!, 5),
        );
      }
    }
  });

  it('refuses a provider it does not have', async () => {
    await expect(webRuntime.compile({ outputs: graph(), provider: 'cuda' })).rejects.toThrow(
      /wasm or webgpu, not cuda/,
    );
  });
});
