/**
 * `reverie sweep` throughput: the same sweep of eight stories260K MLP neurons (blocks.2.mlp.hook_post[0:8],
 * 150 iterations a dream, each attributed) with one worker process and with `defaultJobs` workers (two on
 * two cores), each into a throw-away store. Dreams per minute over the dream phase (the shared scan, done once
 * per sweep in the parent, is left out) and the ratio; the goal is ≥ 1.8 on two cores.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sha256Files } from '../src/dream/run.ts';
import { resolveModel } from '../src/io/resolve.ts';
import { defaultJobs, sweep } from '../src/sweep/sweep.ts';
import type { Benchmark, Result } from './harness.ts';
import { BENCH_MODELS } from './models.ts';

const CORPUS = fileURLToPath(
  new URL('../../shared/corpora/tinystories/validation-head.txt', import.meta.url),
);
const MODEL = 'karpathy/tinyllamas/stories260K';
const FEATURES = 8;

export const benchmark: Benchmark = {
  name: 'sweep',
  async *run(): AsyncIterable<Result> {
    const model = await BENCH_MODELS['stories260K']!();
    const modelSha256 = sha256Files([(await resolveModel(MODEL)).files.weights]);
    const dir = mkdtempSync(join(tmpdir(), 'reverie-bench-sweep-'));
    /** Dreams per minute of the dream phase of a sweep at `jobs` workers. */
    const rate = async (jobs: number): Promise<number> => {
      let seconds = 0;
      const row = await sweep({
        store: join(dir, `jobs-${jobs}.db`),
        model,
        modelRef: MODEL,
        modelSha256,
        target: `blocks.2.mlp.hook_post[0:${FEATURES}]`,
        corpus: [CORPUS],
        maxTokens: 20_000,
        options: { iters: 150 },
        jobs,
        onProgress: (p) => (seconds = p.dreamSeconds || seconds),
      });
      if (row.finished !== FEATURES)
        throw new Error(`the sweep finished ${row.finished} of ${FEATURES} features`);
      return (60 * FEATURES) / seconds;
    };
    try {
      const jobs = defaultJobs(model);
      const one = await rate(1);
      yield {
        bench: 'sweep',
        case: 'stories260K jobs 1',
        metric: 'dreams_per_min',
        value: one,
        unit: 'dreams/min',
      };
      const many = await rate(jobs);
      yield {
        bench: 'sweep',
        case: `stories260K jobs ${jobs}`,
        metric: 'dreams_per_min',
        value: many,
        unit: 'dreams/min',
      };
      yield {
        bench: 'sweep',
        case: `jobs ${jobs} over jobs 1`,
        metric: 'throughput_ratio',
        value: many / one,
        unit: '×',
      };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
