/**
 * A batched forward pass (256 sequences × 12 tokens, every position's logits formed; only their argmax
 * leaves ONNX Runtime): tokens/s, and its GFLOP/s as a fraction of the gemm benchmark's in the same run.
 */
import { argMax, input } from '../src/graph/index.ts';
import { compile } from '../src/runtime/index.ts';
import { measureGemm } from './gemm.ts';
import { timeIt, type Benchmark, type Result } from './harness.ts';
import { BENCH_MODELS, forwardFlops } from './models.ts';

const BATCH = 256;
const T = 12;
const THREADS = 2;

export const benchmark: Benchmark = {
  name: 'forward',
  async *run(): AsyncIterable<Result> {
    const gemm = await measureGemm(THREADS);
    for (const [name, load] of Object.entries(BENCH_MODELS)) {
      const model = await load();
      const ids = input('ids', 'int64', ['B', T]);
      const { logits } = model.build({ tokens: ids });
      const session = await compile({ outputs: { next: argMax(logits!, -1) }, threads: THREADS });
      const data = BigInt64Array.from({ length: BATCH * T }, (_, i) =>
        BigInt((i * 7919) % model.config.vocabSize),
      );
      const seconds = await timeIt(() => session.run({ ids: { dtype: 'int64', shape: [BATCH, T], data } }), {
        warmup: 2,
        runs: 7,
      });
      await session.dispose();
      const gflops = forwardFlops(model.config, BATCH, T) / seconds / 1e9;
      yield {
        bench: 'forward',
        case: name,
        metric: 'tokens_per_s',
        value: (BATCH * T) / seconds,
        unit: 'tokens/s',
      };
      yield { bench: 'forward', case: name, metric: 'gflops', value: gflops, unit: 'GFLOP/s' };
      yield { bench: 'forward', case: name, metric: 'fraction_of_gemm', value: gflops / gemm, unit: 'ratio' };
    }
  },
};
