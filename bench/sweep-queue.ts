/**
 * Sweeps on a BullMQ queue against the local pool: the same sweep of stories260K MLP neurons
 * (blocks.2.mlp.hook_post[0:N], N = 4 by default or $BENCH_SWEEP_QUEUE_FEATURES, default dreams: 600
 * iterations, each attributed) on the local pool with 1 and 2 worker processes, and on a queue (a
 * redis-server started here, on loopback) with 1 and 2 `reverie worker` processes of one job each, started
 * before the sweep. Dreams per minute over the dream phase (the scan, done once per sweep, is left out); the
 * queue's overhead per job, (queue time − local time) per feature at one worker, in seconds and as a share of
 * the local job's time (a default dream with its attribution; goal ≤ 5 %). Those throughputs move with
 * whatever else the machine runs; two parts of the overhead that do not are measured apart: the time outside
 * the jobs (between them, the first's start, the last's collection) on one worker, and the worker's CPU time
 * putting its dream on the wire. Last, the coordinator's writes per second: features collected (the job's log
 * read from Redis, run, result and attribution written to SQLite in one transaction) per CPU second of the
 * coordinator, the part of the work every machine shares.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sha256Files } from '../src/dream/run.ts';
import { resolveModel } from '../src/io/resolve.ts';
import { openStore } from '../src/store/database.ts';
import { sweepFeatures } from '../src/store/sweeps.ts';
import { storedRun } from '../src/store/runs.ts';
import { CHECKPOINT_EVERY } from '../src/sweep/queue.ts';
import { sweep } from '../src/sweep/sweep.ts';
import { encodeCheckpoint, encodeRecord } from '../src/sweep/wire.ts';
import { TestRedis } from '../test/helpers/redis.ts';
import { startWorker, type WorkerProcess } from '../test/sweep-queue/workers.ts';
import type { Benchmark, Result } from './harness.ts';
import { BENCH_MODELS } from './models.ts';

const CORPUS = fileURLToPath(
  new URL('../../shared/corpora/tinystories/validation-head.txt', import.meta.url),
);
const MODEL = 'karpathy/tinyllamas/stories260K';
const FEATURES = Number(process.env.BENCH_SWEEP_QUEUE_FEATURES ?? 4);

/**
 * The CPU seconds a worker spends per job putting its dream on the wire, as queue-job.ts does: every
 * CHECKPOINT_EVERY iterations a log entry of their records and a progress with the checkpoint (the run's last
 * checkpoint stands for each), averaged over the features of a queued sweep's store.
 */
function wireCpuSeconds(store: string): number {
  const db = openStore(store, { create: false });
  try {
    const features = sweepFeatures(db, 1);
    const cpu = process.cpuUsage();
    for (const f of features) {
      const run = storedRun(db, f.runId as number);
      const records = [...run.history];
      for (let i = 0; i < records.length; i += CHECKPOINT_EVERY) {
        JSON.stringify({ records: records.slice(i, i + CHECKPOINT_EVERY).map(encodeRecord) });
        JSON.stringify({ resume: { header: run.header, checkpoint: encodeCheckpoint(run.checkpoint) } });
      }
    }
    const { user, system } = process.cpuUsage(cpu);
    return (user + system) / 1e6 / features.length;
  } finally {
    db.close();
  }
}

export const benchmark: Benchmark = {
  name: 'sweep-queue',
  async *run(): AsyncIterable<Result> {
    const model = await BENCH_MODELS['stories260K']!();
    const modelSha256 = sha256Files([(await resolveModel(MODEL)).files.weights]);
    const dir = mkdtempSync(join(tmpdir(), 'reverie-bench-sweep-queue-'));
    const redis = await TestRedis.start();
    const workers: WorkerProcess[] = [];
    /**
     * The dream phase's seconds of one sweep, the coordinator's CPU seconds collecting, and the sum of the
     * features' job seconds (on a queue, as the workers timed them).
     */
    const time = async (store: string, how: { jobs: number } | { queue: string }) => {
      let seconds = 0;
      let collecting = 0;
      const row = await sweep({
        store: join(dir, store),
        model,
        modelRef: MODEL,
        modelSha256,
        target: `blocks.2.mlp.hook_post[0:${FEATURES}]`,
        corpus: [CORPUS],
        maxTokens: 20_000,
        ...how,
        onProgress: (p) => {
          seconds = p.dreamSeconds || seconds;
          collecting += p.done?.collectCpuSeconds ?? 0;
        },
      });
      if (row.finished !== FEATURES)
        throw new Error(`the sweep finished ${row.finished} of ${FEATURES} features`);
      const db = openStore(join(dir, store), { create: false });
      const jobs = sweepFeatures(db, row.id).reduce((sum, f) => sum + (f.seconds ?? 0), 0);
      db.close();
      return { seconds, collecting, jobs };
    };
    const rate = (seconds: number) => (60 * FEATURES) / seconds;
    const result = (c: string, metric: string, value: number, unit: string): Result => ({
      bench: 'sweep-queue',
      case: c,
      metric,
      value,
      unit,
    });
    try {
      const local1 = await time('local-1.db', { jobs: 1 });
      yield result('local pool, 1 process', 'dreams_per_min', rate(local1.seconds), 'dreams/min');
      const local2 = await time('local-2.db', { jobs: 2 });
      yield result('local pool, 2 processes', 'dreams_per_min', rate(local2.seconds), 'dreams/min');
      const worker = async () => {
        const w = await startWorker(['--queue', redis.url]);
        workers.push(w);
      };
      await worker();
      const queue1 = await time('queue-1.db', { queue: redis.url });
      yield result('queue, 1 worker', 'dreams_per_min', rate(queue1.seconds), 'dreams/min');
      await worker();
      const queue2 = await time('queue-2.db', { queue: redis.url });
      yield result('queue, 2 workers', 'dreams_per_min', rate(queue2.seconds), 'dreams/min');
      const perJob = (queue1.seconds - local1.seconds) / FEATURES;
      yield result('queue over local, 1 worker', 'overhead_per_job', perJob, 's');
      yield result(
        'queue over local, 1 worker',
        'overhead_share',
        (100 * perJob) / (local1.seconds / FEATURES),
        '% of a default dream',
      );
      // What the queue adds outside the jobs themselves: the gaps between them, the first job's start and
      // the last one's collection, on one worker.
      const gap = (queue1.seconds - queue1.jobs) / FEATURES;
      yield result('queue, 1 worker', 'outside_job_per_job', gap, 's');
      yield result(
        'queue, 1 worker',
        'outside_job_share',
        (100 * gap) / (local1.seconds / FEATURES),
        '% of a default dream',
      );
      yield result('queue, 2 workers over 1', 'throughput_ratio', queue1.seconds / queue2.seconds, '×');
      yield result(
        'queue, 1 worker',
        'wire_cpu_share',
        (100 * wireCpuSeconds(join(dir, 'queue-1.db'))) / (local1.seconds / FEATURES),
        '% of a default dream',
      );
      const collected = queue1.collecting + queue2.collecting;
      yield result('coordinator', 'writes_per_second', (2 * FEATURES) / collected, 'features/s');
    } finally {
      await Promise.all(workers.map((w) => w.kill('SIGTERM')));
      await redis.dispose();
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
