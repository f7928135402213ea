/** What a benchmark is, and the helpers they share. */
import { median } from '../src/report/stats.ts';

/** One measurement, printed as one JSON line. */
export interface Result {
  bench: string;
  case: string;
  metric: string;
  value: number;
  unit: string;
}

/**
 * A benchmark: `bench/<name>.ts` exports one as `benchmark`, and `npm run bench [-- NAME…]` finds it there.
 * `run` yields its results as it measures them (or returns them all at once).
 */
export interface Benchmark {
  name: string;
  run(): AsyncIterable<Result> | Promise<Result[]>;
}

export { median };

/** Seconds per call of `f`: `warmup` calls, then the median of `runs` timed calls. */
export async function timeIt(f: () => Promise<unknown>, { warmup = 3, runs = 10 } = {}): Promise<number> {
  for (let i = 0; i < warmup; i++) await f();
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint();
    await f();
    samples.push(Number(process.hrtime.bigint() - start) / 1e9);
  }
  return median(samples);
}
