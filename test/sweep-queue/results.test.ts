/**
 * Sweeps on a BullMQ queue (a real redis-server) with `reverie worker` processes: the results equal the same
 * sweep on the local pool (same seeds, same runs, results and attributions); a worker SIGKILLed mid-dream
 * leaves its job to another, which resumes it from the checkpoint in the job's progress and ends with the
 * uninterrupted result; Redis stopped mid-sweep and started again (empty) → the sweep completes, the same.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Files } from '../../src/dream/run.ts';
import { resolveModel } from '../../src/io/resolve.ts';
import { loadModel } from '../../src/models/load.ts';
import type { Model } from '../../src/models/model.ts';
import { loadAttribution } from '../../src/store/results.ts';
import { runHistory } from '../../src/store/runs.ts';
import {
  findSweep,
  listSweeps,
  sweepFeatures,
  type SweepFeatureRow,
  type SweepRow,
} from '../../src/store/sweeps.ts';
import { sweepInfo } from '../../src/server/views/info.ts';
import { sweepView } from '../../src/server/views/layer.ts';
import { sweep, type SweepProgress, type SweepRequest } from '../../src/sweep/sweep.ts';
import { readStore } from '../helpers/processes.ts';
import { TestRedis } from '../helpers/redis.ts';
import { jobId } from '../../src/sweep/queue.ts';
import {
  activeJobs,
  jobStates,
  MODEL,
  smallSweep,
  startWorker,
  until,
  type WorkerProcess,
} from './workers.ts';

const dir = mkdtempSync(join(tmpdir(), 'reverie-sweep-queue-'));
let redis: TestRedis;
let model: Model;
let modelSha256: string;
const workers: WorkerProcess[] = [];

beforeAll(async () => {
  redis = await TestRedis.start();
  model = await loadModel(MODEL);
  modelSha256 = sha256Files([(await resolveModel(MODEL)).files.weights]);
});
afterAll(async () => {
  await Promise.all(workers.map((w) => w.kill()));
  await redis?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

const worker = async (...args: string[]) => {
  const w = await startWorker(['--queue', redis.url, '--stall-seconds', '2', ...args]);
  workers.push(w);
  return w;
};

/** Iterations of the dreams cut by a fault (a worker killed, Redis restarted), long enough on any machine. */
const ITERS_KILLED = 300;

const request = (store: string, target: string, iters: number): SweepRequest =>
  smallSweep({ store: join(dir, store), model, modelSha256, target }, iters);

/** The queue key of the (one) sweep in a store, once it has one: its jobs' ids start with it. */
function keyOf(store: string): string | undefined {
  try {
    return readStore(join(dir, store), (db) => listSweeps(db)[0]?.queue?.key);
  } catch {
    return undefined; // not created yet
  }
}

/** The running jobs of the sweep in a store, with their progress. */
async function jobsOf(store: string) {
  const key = keyOf(store);
  return key === undefined ? [] : activeJobs(redis.url, `${key}-`);
}

/** A feature as stored, without what differs between two equal runs: seconds, run ids, where it ran. */
function outcome(store: string, f: SweepFeatureRow) {
  const { seconds: _, ...result } = f.result ?? ({} as NonNullable<SweepFeatureRow['result']>);
  return readStore(join(dir, store), (db) => ({
    target: f.target,
    status: f.status,
    result,
    candidates: [...runHistory(db, f.runId as number)].map((r) => r.candidates),
    attribution: f.attributionId === null ? null : loadAttribution(db, f.attributionId),
  }));
}
const outcomes = (store: string, sweepId: number) =>
  readStore(join(dir, store), (db) => sweepFeatures(db, sweepId)).map((f) => outcome(store, f));

describe('a sweep on the queue', () => {
  it('with two workers, equals the same sweep on the local pool', async () => {
    const target = 'blocks.2.mlp.hook_post[0:6]';
    const local = await sweep({ ...request('local.db', target, 12), jobs: 2 });
    expect(local).toMatchObject({ status: 'finished', finished: 6 });
    const [a, b] = await Promise.all([worker(), worker()]);
    const done: NonNullable<SweepProgress['done']>[] = [];
    const queued = await sweep({
      ...request('queued.db', target, 12),
      queue: redis.url,
      onProgress: (p) => void (p.done && done.push(p.done)),
    });
    expect(queued).toMatchObject({ status: 'finished', finished: 6, failed: 0 });
    expect(queued.queue?.url).toBe(redis.url);
    expect(outcomes('queued.db', queued.id)).toEqual(outcomes('local.db', local.id));
    // Both workers took jobs, and the store says which took each.
    const stored = readStore(join(dir, 'queued.db'), (db) => sweepFeatures(db, queued.id));
    expect(new Set(stored.map((f) => f.worker))).toEqual(new Set([a?.name, b?.name]));
    expect(done.map((d) => d.worker).sort()).toEqual(stored.map((f) => f.worker).sort());
    // The dashboard's view of it: the jobs all finished, and who ran each.
    const [info, layer] = readStore(join(dir, 'queued.db'), (db) => [
      sweepInfo(db, findSweep(db, queued.id)),
      sweepView(db, queued.id),
    ]);
    expect(info.queue).toEqual({ url: redis.url, queued: 0, running: [], finished: 6, failed: 0 });
    expect(layer.features.map((f) => f.worker)).toEqual(stored.map((f) => f.worker));
    // Collected jobs are removed from Redis.
    const ids = stored.map((f) => jobId(queued.queue?.key as string, f.rank));
    expect(await jobStates(redis.url, ids)).toEqual(ids.map(() => 'unknown'));
    await Promise.all(workers.splice(0).map((w) => w.kill('SIGTERM')));
  }, 180_000);

  it('goes on when a worker is SIGKILLed mid-dream: another resumes from its checkpoint, to the same result', async () => {
    const target = 'blocks.1.mlp.hook_post[3,77]';
    // Dreams long enough that the worker is killed mid-dream on any machine (the coordinator reads the
    // running jobs' progress once a second).
    const local = await sweep({ ...request('local-2.db', target, ITERS_KILLED), jobs: 1 });
    const first = await worker();
    const done: NonNullable<SweepProgress['done']>[] = [];
    const running = sweep({
      ...request('killed.db', target, ITERS_KILLED),
      queue: redis.url,
      checkpointEvery: 5,
      onProgress: (p) => void (p.done && done.push(p.done)),
    });
    // The dashboard shows a job running, held by this worker (once the coordinator has seen it).
    const dashboard = () =>
      readStore(join(dir, 'killed.db'), (db) => sweepInfo(db, listSweeps(db)[0] as SweepRow));
    await until(
      'the dashboard to show a running job',
      () => keyOf('killed.db') !== undefined && dashboard().queue?.running.length === 1,
    );
    const info = dashboard();
    expect(info.queue?.running.map((r) => r.worker)).toEqual([first.name]);
    // the other job queued, or (a fast machine) the first one finished already and the other running
    expect(info.queue!.queued + info.queue!.finished).toBe(1);
    expect(info.queue!.failed).toBe(0);
    // The job past its second checkpoint, not finished: then the worker dies.
    let cut = 0;
    await until('a job past iteration 10', async () => {
      const jobs = await jobsOf('killed.db');
      cut = jobs.find((j) => j.progress.resume && (j.progress.iter ?? 0) >= 10)?.progress.iter ?? 0;
      return cut > 0;
    });
    await first.kill('SIGKILL');
    const second = await worker();
    const row = await running;
    expect(row).toMatchObject({ status: 'finished', finished: 2, failed: 0 });
    const resumed = done.find((d) => (d.resumedFrom ?? 0) > 0);
    expect(resumed?.worker).toBe(second.name);
    expect(resumed?.resumedFrom).toBeGreaterThanOrEqual(cut);
    expect(resumed?.resumedFrom).toBeLessThan(40);
    expect(second.output()).toMatch(/started, resuming at iteration \d+/);
    expect(outcomes('killed.db', row.id)).toEqual(outcomes('local-2.db', local.id));
  }, 180_000);

  it('completes when Redis is stopped mid-sweep and started again empty: lost jobs are queued again', async () => {
    const target = 'blocks.1.mlp.hook_post[3,77]';
    const local = readStore(join(dir, 'local-2.db'), (db) => sweepFeatures(db, 1));
    expect(local).toHaveLength(2);
    const running = sweep({
      ...request('restarted.db', target, ITERS_KILLED),
      queue: redis.url,
      checkpointEvery: 5,
    });
    await until('a job under way', async () =>
      (await jobsOf('restarted.db')).some((j) => (j.progress.iter ?? 0) >= 5),
    );
    await redis.stop();
    await new Promise((r) => setTimeout(r, 500));
    await redis.restart();
    const row = await running;
    expect(row).toMatchObject({ status: 'finished', finished: 2, failed: 0 });
    expect(outcomes('restarted.db', row.id)).toEqual(outcomes('local-2.db', 1));
  }, 180_000);
});
