/**
 * EPO seconds per iteration at the default options (median over iterations after the first of each run),
 * wall time between iterations including history writing, on stories260K and the Pythia-70m-shaped random
 * model, with children evaluated in full and from their parents' cached prefixes (incremental). The two
 * evaluations alternate, a few iterations each, over several rounds of the same seeded run, so that load
 * from elsewhere on the machine falls on both alike and their ratio stays meaningful.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Evaluation } from '../src/dream/evaluator.ts';
import { dream } from '../src/dream/run.ts';
import type { Model } from '../src/models/model.ts';
import { median, type Benchmark, type Result } from './harness.ts';
import { BENCH_MODELS } from './models.ts';

const CASES: { model: string; target: string; iters: number; rounds: number }[] = [
  { model: 'stories260K', target: 'blocks.4.mlp.hook_post[0]', iters: 12, rounds: 4 },
  { model: 'pythia-70m-shape', target: 'blocks.3.mlp.hook_post[0]', iters: 4, rounds: 3 },
];

/** Seconds between consecutive iterations of one run. */
async function gaps(model: Model, target: string, iters: number, evaluation: Evaluation): Promise<number[]> {
  const outDir = mkdtempSync(join(tmpdir(), 'reverie-bench-epo-'));
  const stamps: number[] = [];
  try {
    await dream({
      model,
      modelSha256: 'bench',
      target,
      options: { iters, evaluation },
      outDir,
      onProgress: () => stamps.push(performance.now()),
    });
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
  return stamps.slice(1).map((t, i) => (t - (stamps[i] as number)) / 1000);
}

export const benchmark: Benchmark = {
  name: 'epo',
  async *run(): AsyncIterable<Result> {
    for (const { model: name, target, iters, rounds } of CASES) {
      const model = await BENCH_MODELS[name]!();
      const samples: Record<Evaluation, number[]> = { full: [], incremental: [] };
      for (let round = 0; round < rounds; round++)
        for (const evaluation of ['full', 'incremental'] as const)
          samples[evaluation].push(...(await gaps(model, target, iters, evaluation)));
      for (const evaluation of ['full', 'incremental'] as const)
        yield {
          bench: 'epo',
          case: `${name}/${evaluation}`,
          metric: 's_per_iter',
          value: median(samples[evaluation]),
          unit: 's',
        };
    }
  },
};
