/**
 * EPO seconds per iteration at the default options (median over iterations after the first), wall time
 * between iterations including history writing, on stories260K and the Pythia-70m-shaped random model.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dream } from '../src/dream/run.ts';
import { median, type Benchmark, type Result } from './harness.ts';
import { BENCH_MODELS } from './models.ts';

const CASES: { model: string; target: string; iters: number }[] = [
  { model: 'stories260K', target: 'blocks.4.mlp.hook_post[0]', iters: 40 },
  { model: 'pythia-70m-shape', target: 'blocks.3.mlp.hook_post[0]', iters: 6 },
];

export const benchmark: Benchmark = {
  name: 'epo',
  async *run(): AsyncIterable<Result> {
    for (const { model: name, target, iters } of CASES) {
      const model = await BENCH_MODELS[name]!();
      const outDir = mkdtempSync(join(tmpdir(), 'reverie-bench-epo-'));
      const stamps: number[] = [];
      try {
        await dream({
          model,
          modelSha256: 'bench',
          target,
          options: { iters },
          outDir,
          onProgress: () => stamps.push(performance.now()),
        });
      } finally {
        rmSync(outDir, { recursive: true, force: true });
      }
      const gaps = stamps.slice(1).map((t, i) => (t - (stamps[i] as number)) / 1000);
      yield { bench: 'epo', case: `${name}/full`, metric: 's_per_iter', value: median(gaps), unit: 's' };
    }
  },
};
