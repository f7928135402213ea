/**
 * Dream quality against the dataset (src/report/quality.ts): for each neuron of a public development set of
 * stories260K MLP neurons, the top-64 windows of 12 tokens of the TinyStories validation sample (scanned once,
 * cached), then `reverie dream` at its defaults; a win is a candidate at xent ≤ the examples' median that
 * out-activates the best example. Per neuron, and in total: wins, the mean margin, seconds per neuron.
 *
 * Then quality per second: on three neurons, without a BOS (the reference feeds none), the seconds a run at the
 * defaults takes to reach the scalarized frontier score (mean over λ ∈ {0.25, 0.5, 1, 2} of the best
 * target − λ·xent) that the dreamy preset (the reference's algorithm) ends with after 300 iterations.
 *
 * `QUALITY_SEEDS=0,1,2` runs several seeds; `QUALITY_OPTIONS='{"topk":128}'` changes the dream's options
 * (the levers of the README's table were measured so). Progress goes to stderr.
 */
import { fileURLToPath } from 'node:url';
import { sha256Files } from '../src/dream/run.ts';
import { resolveModel } from '../src/io/resolve.ts';
import { measureQuality, timeToReference, type QualityResult } from '../src/report/quality.ts';
import { median, type Benchmark, type Result } from './harness.ts';
import { BENCH_MODELS } from './models.ts';

/** (layer, neuron) of the development set. */
export const DEVELOPMENT_NEURONS: readonly [number, number][] = [
  [0, 50],
  [0, 90],
  [1, 5],
  [1, 120],
  [2, 55],
  [2, 160],
  [3, 9],
  [3, 30],
  [4, 0],
  [4, 150],
];

/** "k of n, about T left", T from the mean time of the steps so far. */
class Eta {
  private done = -1;
  private readonly started = performance.now();
  constructor(private readonly total: number) {}
  next(): string {
    this.done++;
    if (this.done === 0) return `1 of ${this.total}`;
    const each = (performance.now() - this.started) / 1000 / this.done;
    return `${this.done + 1} of ${this.total}, about ${Math.round(each * (this.total - this.done))} s left`;
  }
}

/** The neurons of the quality-per-second comparison. */
const SPEED_NEURONS: readonly [number, number][] = [
  [1, 17],
  [2, 100],
  [4, 42],
];

const CORPUS = fileURLToPath(
  new URL('../../shared/corpora/tinystories/validation-head.txt', import.meta.url),
);

export const benchmark: Benchmark = {
  name: 'quality',
  async *run(): AsyncIterable<Result> {
    const model = await BENCH_MODELS['stories260K']!();
    const modelSha256 = sha256Files([(await resolveModel('karpathy/tinyllamas/stories260K')).files.weights]);
    const seeds = (process.env.QUALITY_SEEDS ?? '0').split(',').map(Number);
    const options = JSON.parse(process.env.QUALITY_OPTIONS ?? '{}') as Record<string, unknown>;
    const row = (c: string, metric: string, value: number, unit: string): Result => ({
      bench: 'quality',
      case: c,
      metric,
      value,
      unit,
    });
    const eta = new Eta(seeds.length * DEVELOPMENT_NEURONS.length);
    for (const seed of seeds) {
      const results: QualityResult[] = [];
      for (const [layer, neuron] of DEVELOPMENT_NEURONS) {
        const target = `blocks.${layer}.mlp.hook_post[${neuron}]`;
        process.stderr.write(`quality: ${target} seed ${seed} (${eta.next()})…`);
        const r = await measureQuality({
          model,
          modelSha256,
          target,
          corpus: [CORPUS],
          options: { ...options, seed },
        });
        results.push(r);
        process.stderr.write(
          ` top ${r.topActivation.toFixed(3)} at median xent ${r.medianXent.toFixed(2)}, dream ${r.bestDream?.toFixed(3) ?? '—'} (${r.seconds.toFixed(1)} s)\n`,
        );
        const c = `stories260K/${target}/seed${seed}`;
        yield row(c, 'top_example', r.topActivation, 'activation');
        yield row(c, 'median_example_xent', r.medianXent, 'nats');
        yield row(c, 'best_fluent_dream', r.bestDream ?? Number.NaN, 'activation');
        yield row(c, 'margin', r.margin, 'activation');
        yield row(c, 'seconds', r.seconds, 's');
        yield row(c, 'seconds_to_win', r.secondsToWin ?? Number.NaN, 's');
      }
      const c = `stories260K/seed${seed}`;
      const margins = results.map((r) => Math.max(r.margin, -10)); // no fluent candidate counts as −10
      yield row(c, 'wins', results.filter((r) => r.margin > 0).length, `of ${results.length}`);
      yield row(c, 'mean_margin', margins.reduce((s, m) => s + m, 0) / margins.length, 'activation');
      yield row(c, 'seconds_per_neuron', results.reduce((s, r) => s + r.seconds, 0) / results.length, 's');
    }
    const ratios: number[] = [];
    let reached = 0;
    for (const seed of seeds)
      for (const [layer, neuron] of SPEED_NEURONS) {
        const target = `blocks.${layer}.mlp.hook_post[${neuron}]`;
        process.stderr.write(`quality per second: ${target} seed ${seed}…`);
        const r = await timeToReference({
          model,
          modelSha256,
          target,
          seed,
          options: { ...options, bos: false },
          reference: { preset: 'dreamy', iters: 300, bos: false },
        });
        const ratio = r.secondsToReference === null ? 0 : r.referenceSeconds / r.secondsToReference;
        if (r.secondsToReference !== null) reached++;
        ratios.push(ratio);
        process.stderr.write(
          ` dreamy 300 iterations: ${r.referenceScore.toFixed(3)} in ${r.referenceSeconds.toFixed(1)} s; reached in ${r.secondsToReference?.toFixed(1) ?? '—'} s\n`,
        );
        const c = `stories260K-no-bos/${target}/seed${seed}`;
        yield row(c, 'reference_score', r.referenceScore, 'score');
        yield row(c, 'reference_seconds', r.referenceSeconds, 's');
        yield row(c, 'seconds_to_reference', r.secondsToReference ?? Number.NaN, 's');
        yield row(c, 'sooner', ratio, '× the dreamy preset');
      }
    yield row('stories260K-no-bos', 'reached', reached, `of ${ratios.length}`);
    yield row('stories260K-no-bos', 'median_sooner', median(ratios), '× the dreamy preset');
  },
};
