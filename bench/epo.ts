/**
 * EPO seconds per iteration at the reference's settings (the dreamy preset, so that the figures compare with the
 * Python original's; median over iterations after the first), on stories260K
 * and the Pythia-70m-shaped random model, with children evaluated in full and from their parents' cached
 * prefixes (incremental). The two runs start from the same seed and take their iterations in turn, one of
 * each at a time, so that load from elsewhere on the machine falls on both alike: their ratio, reported as
 * `speedup` (the median of the per-iteration ratios), stays meaningful on a shared, noisy machine.
 */
import type { Evaluation } from '../src/dream/engine/evaluator.ts';
import { initEpo, stepEpo, type EpoState } from '../src/dream/epo.ts';
import { resolveOptions } from '../src/dream/options.ts';
import { openEvaluator, resolveBos, runTargets } from '../src/dream/run.ts';
import type { Model } from '../src/models/model.ts';
import { median, type Benchmark, type Result } from './harness.ts';
import { BENCH_MODELS } from './models.ts';

const CASES: { model: string; target: string; iters: number }[] = [
  { model: 'stories260K', target: 'blocks.4.mlp.hook_post[0]', iters: 40 },
  { model: 'pythia-70m-shape', target: 'blocks.3.mlp.hook_post[0]', iters: 10 },
];

const EVALUATIONS = ['full', 'incremental'] as const;

/** A run at the dreamy preset with the given evaluation, stepped by the caller, as `reverie dream` steps it. */
async function openRun(model: Model, spec: string, evaluation: Evaluation) {
  const options = resolveOptions({ preset: 'dreamy', evaluation });
  const bos = resolveBos(model, options);
  const targets = runTargets(spec, model, options, bos);
  const { evaluator, allowed, accept } = await openEvaluator(model, targets, options, bos);
  const state: EpoState = await initEpo(evaluator, options, allowed);
  return {
    /** Seconds of one iteration. */
    async step(): Promise<number> {
      const started = performance.now();
      await stepEpo(state, evaluator, options, accept);
      return (performance.now() - started) / 1000;
    },
    dispose: () => evaluator.dispose(),
  };
}

export const benchmark: Benchmark = {
  name: 'epo',
  async *run(): AsyncIterable<Result> {
    for (const { model: name, target, iters } of CASES) {
      const model = await BENCH_MODELS[name]!();
      const runs = {
        full: await openRun(model, target, 'full'),
        incremental: await openRun(model, target, 'incremental'),
      };
      const samples: Record<Evaluation, number[]> = { full: [], incremental: [] };
      try {
        for (let i = 0; i <= iters; i++)
          for (const evaluation of EVALUATIONS) {
            const seconds = await runs[evaluation].step();
            if (i > 0) samples[evaluation].push(seconds); // the first iteration warms ONNX Runtime up
          }
      } finally {
        for (const evaluation of EVALUATIONS) await runs[evaluation].dispose();
      }
      for (const evaluation of EVALUATIONS)
        yield {
          bench: 'epo',
          case: `${name}/${evaluation}`,
          metric: 's_per_iter',
          value: median(samples[evaluation]),
          unit: 's',
        };
      yield {
        bench: 'epo',
        case: `${name}/incremental`,
        metric: 'speedup',
        value: median(samples.full.map((full, i) => full / (samples.incremental[i] as number))),
        unit: '× full',
      };
    }
  },
};
