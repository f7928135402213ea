/**
 * Fluent red-teaming on stories260K (issue 17's goal): for each of five texts, a 12-token prompt after the BOS
 * whose greedy continuation is the text, found within 60 s under the perplexity filter of the 0.95 quantile of
 * the TinyStories validation sample's 12-token windows (reverie threshold). The same with the filter off, and
 * with GCG (population 1) under the filter, for comparison. Per text and mode: success (1/0), the seconds to
 * the first success (or to the time limit), and the successful prompt's xent; a table on stderr with the
 * prompts.
 */
import { xentThreshold } from '../src/data/threshold.ts';
import { redteam } from '../src/dream/redteam.ts';
import type { Benchmark, Result } from './harness.ts';
import { BENCH_MODELS } from './models.ts';

const CORPUS = '../shared/corpora/tinystories/validation-head.txt';
export const REDTEAM_TEXTS = [
  ' Lily was very sad.',
  ' The dog ran to the park.',
  ' He ate the red apple.',
  ' They played with the ball all day.',
  ' The bird flew away.',
];
const SECONDS = 60;

export const benchmark: Benchmark = {
  name: 'redteam',
  async *run(): AsyncIterable<Result> {
    const model = await BENCH_MODELS['stories260K']!();
    const { thresholds } = await xentThreshold({ model, corpus: [CORPUS], quantiles: [0.95], window: 12 });
    const threshold = thresholds[0]!.xent;
    yield { bench: 'redteam', case: 'filter', metric: 'threshold', value: threshold, unit: 'nats' };
    const modes = [
      { name: 'filter', options: { maxXent: threshold } },
      { name: 'no-filter', options: { maxXent: 0 } },
      { name: 'gcg-filter', options: { maxXent: threshold, gcg: true } },
    ];
    for (const mode of modes) {
      let successes = 0;
      for (const text of REDTEAM_TEXTS) {
        const result = await redteam({
          model,
          text,
          options: { seqLen: 12, iters: 20_000, timeLimit: SECONDS, seed: 0, ...mode.options },
        });
        const first = result.first;
        if (first) successes++;
        process.stderr.write(
          `  ${mode.name.padEnd(10)} ${JSON.stringify(text).padEnd(38)} ` +
            (first
              ? `success ${first.seconds.toFixed(1).padStart(5)} s  it ${first.iterations}  xent ${first.xent.toFixed(3)}  ${JSON.stringify(first.text)}\n`
              : `failed after ${result.run.seconds.toFixed(1)} s, ${result.run.iterations} iterations\n`),
        );
        const name = `${mode.name}/${text.trim()}`;
        yield { bench: 'redteam', case: name, metric: 'success', value: first ? 1 : 0, unit: 'bool' };
        yield {
          bench: 'redteam',
          case: name,
          metric: 'seconds',
          value: first?.seconds ?? result.run.seconds,
          unit: 's',
        };
        if (first) yield { bench: 'redteam', case: name, metric: 'xent', value: first.xent, unit: 'nats' };
      }
      yield {
        bench: 'redteam',
        case: mode.name,
        metric: 'successes',
        value: successes,
        unit: `of ${REDTEAM_TEXTS.length}`,
      };
    }
  },
};
