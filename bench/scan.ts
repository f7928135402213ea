/**
 * `reverie scan` throughput: corpus tokens per second (tokenizing, scoring every 12-token window with BOS in
 * batches of 256 by the fitness program, and the top-64 heap) on stories260K over the first 40k tokens of the
 * TinyStories validation sample.
 */
import { scanCorpus } from '../src/data/scan.ts';
import type { Benchmark, Result } from './harness.ts';
import { BENCH_MODELS } from './models.ts';

const CORPUS = '../shared/corpora/tinystories/validation-head.txt';

export const benchmark: Benchmark = {
  name: 'scan',
  async *run(): AsyncIterable<Result> {
    const model = await BENCH_MODELS['stories260K']!();
    // One short warm-up scan, so that the measured one does not pay for the first session's set-up alone.
    await scanCorpus({ model, target: 'blocks.4.mlp.hook_post[0]', corpus: [CORPUS], maxTokens: 2000 });
    const scan = await scanCorpus({
      model,
      target: 'blocks.4.mlp.hook_post[0]',
      corpus: [CORPUS],
      maxTokens: 40_000,
    });
    yield {
      bench: 'scan',
      case: 'stories260K',
      metric: 'tokens_per_s',
      value: scan.tokensScanned / scan.seconds,
      unit: 'tokens/s',
    };
  },
};
