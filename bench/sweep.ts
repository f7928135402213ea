/**
 * `reverie sweep` throughput: the same sweep of eight stories260K MLP neurons (blocks.2.mlp.hook_post[0:8],
 * 150 iterations a dream, each attributed) with one worker process and with `defaultJobs` workers (two on
 * two cores), each into a throw-away store. Dreams per minute over the dream phase (the shared scan, done once
 * per sweep in the parent, is left out) and the ratio; the goal is ≥ 1.8 on two cores. Beside it, the
 * machine's own ceiling for that many processes (the same CPU-bound loop in parallel over alone) and the share
 * of it the sweep reaches.
 */
import { execFile } from 'node:child_process';
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

/** A fixed CPU-bound loop (plain JavaScript, no I/O), as a child process; resolves when it exits. */
const SPIN =
  'const a = new Float64Array(1 << 16); let x = 0;' +
  'for (let r = 0; r < 12000; r++) for (let i = 0; i < a.length; i++) { a[i] = a[i] * 0.999 + i * 1e-6; x += a[i]; }' +
  'if (!(x > 0)) process.exit(1);';
const spin = (): Promise<void> =>
  new Promise((resolve, reject) =>
    execFile(process.execPath, ['-e', SPIN], (error) => (error ? reject(error) : resolve())),
  );

/**
 * What the machine itself allows: the throughput of `jobs` copies of the same CPU-bound loop at once over one
 * alone (two vCPUs of a virtual machine are seldom two whole cores).
 */
async function parallelCeiling(jobs: number): Promise<number> {
  const time = async (n: number) => {
    const started = performance.now();
    await Promise.all(Array.from({ length: n }, spin));
    return (performance.now() - started) / 1000;
  };
  await time(1); // warm-up
  const one = Math.min(await time(1), await time(1));
  const many = Math.min(await time(jobs), await time(jobs));
  return (jobs * one) / many;
}

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
      const ceiling = await parallelCeiling(jobs);
      yield {
        bench: 'sweep',
        case: `machine, ${jobs} processes`,
        metric: 'parallel_ceiling',
        value: ceiling,
        unit: '×',
      };
      yield {
        bench: 'sweep',
        case: `jobs ${jobs} over jobs 1`,
        metric: 'share_of_ceiling',
        value: many / one / ceiling,
        unit: '',
      };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
