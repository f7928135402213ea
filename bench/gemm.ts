/**
 * GEMM throughput through the engine: C = A·B with A [m,k] a graph input and B [k,n] a constant, fp32,
 * 2·m·k·n FLOPs per run. Later benchmarks report their speed as a fraction of this (measureGemm).
 */
import { constant, input, matmul } from '../src/graph/index.ts';
import { compile } from '../src/runtime/index.ts';
import { timeIt, type Benchmark, type Result } from './harness.ts';

export interface GemmShape {
  m: number;
  k: number;
  n: number;
}

/** The shape of the reference: 3072×512 @ 512×2048. */
export const GEMM_SHAPE: GemmShape = { m: 3072, k: 512, n: 2048 };

/** Deterministic values in [−1, 1) (a linear congruential sequence). */
function fill(length: number, seed: number): Float32Array {
  const out = new Float32Array(length);
  let state = seed >>> 0;
  for (let i = 0; i < length; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    out[i] = state / 2 ** 31 - 1;
  }
  return out;
}

/** GFLOP/s of an fp32 MatMul run through the engine on `threads` intra-op threads (median of `runs`). */
export async function measureGemm(
  threads: number,
  { m, k, n }: GemmShape = GEMM_SHAPE,
  { warmup = 3, runs = 10 } = {},
): Promise<number> {
  const a = input('a', 'float32', [m, k]);
  const b = constant(fill(k * n, 2), [k, n]);
  const session = await compile({ outputs: { c: matmul(a, b) }, threads });
  const feeds = { a: { dtype: 'float32' as const, shape: [m, k], data: fill(m * k, 1) } };
  try {
    const seconds = await timeIt(() => session.run(feeds), { warmup, runs });
    return (2 * m * k * n) / seconds / 1e9;
  } finally {
    await session.dispose();
  }
}

export const benchmark: Benchmark = {
  name: 'gemm',
  async *run(): AsyncIterable<Result> {
    const { m, k, n } = GEMM_SHAPE;
    for (const threads of [1, 2]) {
      const value = await measureGemm(threads);
      yield {
        bench: 'gemm',
        case: `${m}x${k}x${n}/threads=${threads}`,
        metric: 'gflops',
        value,
        unit: 'GFLOP/s',
      };
    }
  },
};
