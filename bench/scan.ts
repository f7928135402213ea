/**
 * `reverie scan` throughput: corpus tokens per second (tokenizing, scoring every 12-token window with BOS in
 * batches of 256 by the fitness program, and the top-64 heap) on stories260K over the first 40k tokens of the
 * TinyStories validation sample. Then the multi-feature scan: all 172 neurons of a layer in one pass against
 * the single-feature scan of one of them, over the same tokens (issue 15's goal: at most 1.5× the time).
 */
import { scanFeatures } from '../src/data/feature-scan.ts';
import { scanCorpus } from '../src/data/scan.ts';
import type { Benchmark, Result } from './harness.ts';
import { BENCH_MODELS } from './models.ts';

const CORPUS = '../shared/corpora/tinystories/validation-head.txt';
const LAYER = 'blocks.2.mlp.hook_post[*]';
const ONE = 'blocks.2.mlp.hook_post[0]';

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

    // The layer against one neuron: each measured twice, interleaved, the faster of the two kept (the
    // machine is shared: the faster run is the one less disturbed).
    const request = { model, corpus: [CORPUS], maxTokens: 40_000 };
    await scanFeatures({ ...request, target: LAYER, maxTokens: 2000 });
    const seconds = { one: Infinity, layer: Infinity };
    let tokens = 0;
    for (let i = 0; i < 2; i++) {
      const one = await scanCorpus({ ...request, target: ONE });
      const layer = await scanFeatures({ ...request, target: LAYER });
      seconds.one = Math.min(seconds.one, one.seconds);
      seconds.layer = Math.min(seconds.layer, layer.seconds);
      tokens = layer.tokensScanned;
    }
    const rate = (s: number) => tokens / s;
    yield* [
      {
        bench: 'scan',
        case: 'stories260K/one-neuron',
        metric: 'tokens_per_s',
        value: rate(seconds.one),
        unit: 'tokens/s',
      },
      {
        bench: 'scan',
        case: 'stories260K/layer-172',
        metric: 'tokens_per_s',
        value: rate(seconds.layer),
        unit: 'tokens/s',
      },
      {
        bench: 'scan',
        case: 'stories260K/layer-172',
        metric: 'layer_over_one',
        value: seconds.layer / seconds.one,
        unit: 'x',
      },
    ];
  },
};
