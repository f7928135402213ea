/**
 * A sweep's dreams on a queue: a BullMQ job per feature not finished, then, until none is left, the finished
 * and failed jobs collected into the store (this process alone writes it) and the running ones' progress
 * read. Jobs left in Redis by a coordinator that was killed are collected by the next (`--resume`): a job's
 * id is its sweep's key and rank. After Redis comes back from a restart without its data, the jobs it lost
 * are added again (a worker that had one resumes it from scratch; the result is the same).
 */
import { Queue, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { saveAttribution } from '../store/results.ts';
import type { Db } from '../store/database.ts';
import { loadFeatureScanFeature } from '../store/feature-scans.ts';
import {
  failFeature,
  importFeature,
  setFeatureWorker,
  sweepFeature,
  type SweepPrompt,
  type SweepRow,
} from '../store/sweeps.ts';
import { comparisonBar } from './outcome.ts';
import type { FromWorker } from './protocol.ts';
import { CHECKPOINT_EVERY, jobId, QUEUE_NAME, type FeatureJobData, type FeatureJobResult } from './queue.ts';
import { connect } from './redis.ts';
import { decodeCheckpoint, historyBefore, type JobProgress } from './wire.ts';

/** How often the coordinator looks for finished jobs, and for the running ones' progress. */
const POLL_MS = 100;
/** Reading a running job reads its checkpoint (~100 kB for a default stories260K dream): less often. */
const FOLLOW_MS = 1000;
/** Jobs read from Redis per call. */
const PAGE = 500;

/**
 * What the coordinator reports: the pool's events, and for a finished job where it ran, where it resumed, and
 * the CPU seconds this process took to collect it (its log read from Redis, the whole written to the store).
 */
export type QueueEvent = FromWorker & { worker?: string; resumedFrom?: number; collectCpuSeconds?: number };

export interface QueuedRequest {
  db: Db;
  sweep: SweepRow;
  url: string;
  key: string;
  ranks: readonly number[];
  checkpointEvery?: number;
  onEvent: (event: QueueEvent) => void;
  /** Checked as the coordinator polls: true ends this call (the jobs stay queued for a resume). */
  shouldStop?: () => boolean;
}

type FeatureJob = Job<FeatureJobData, FeatureJobResult>;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The job of a feature of the sweep, as a worker gets it. */
function jobData(db: Db, sweep: SweepRow, key: string, rank: number, every: number): FeatureJobData {
  const feature = sweepFeature(db, sweep.id, rank);
  const scan = loadFeatureScanFeature(db, sweep.featureScanId as number, rank);
  return {
    key,
    sweepId: sweep.id,
    rank,
    target: feature.target,
    model: sweep.spec.model,
    options: sweep.spec.options,
    attributionK: sweep.spec.attributionK,
    bar: comparisonBar(scan.examples as SweepPrompt[], feature.target),
    checkpointEvery: every,
  };
}

/**
 * Runs the features' jobs on the queue at `url` (checked reachable by the caller: from here on, Redis away is
 * waited for); resolves when none is left (or when asked to stop).
 */
export async function runQueued(request: QueuedRequest): Promise<void> {
  const { db, sweep, key } = request;
  const client: Redis = connect(request.url);
  const queue = new Queue<FeatureJobData, FeatureJobResult>(QUEUE_NAME, { connection: client });
  queue.on('error', () => {});
  const every = request.checkpointEvery ?? CHECKPOINT_EVERY;
  const outstanding = new Set(request.ranks);
  const holders = new Map<number, string>();
  const prefix = `${key}-`;
  const rankOf = (job: { id?: string | undefined }) => Number((job.id as string).slice(prefix.length));
  const ours = (job: { id?: string | undefined } | undefined): job is FeatureJob =>
    job?.id?.startsWith(prefix) === true;

  const enqueue = async (ranks: readonly number[]) => {
    for (let i = 0; i < ranks.length; i += PAGE)
      await queue.addBulk(
        ranks.slice(i, i + PAGE).map((rank) => ({
          name: 'feature',
          data: jobData(db, sweep, key, rank, every),
          // One attempt: a job that throws is failed for good; a stalled one (its worker gone) is retried.
          opts: { jobId: jobId(key, rank), attempts: 1, removeOnComplete: false, removeOnFail: false },
        })),
      );
  };
  /** The jobs Redis lost (restarted without its data): added again. */
  const reconcile = async () => {
    const lost: number[] = [];
    for (const rank of outstanding)
      if ((await queue.getJobState(jobId(key, rank))) === 'unknown') lost.push(rank);
    await enqueue(lost);
  };
  let reconnected = false;
  let ready = false;
  client.on('ready', () => {
    if (ready) reconnected = true;
    ready = true;
  });

  const collect = async (job: FeatureJob) => {
    const rank = rankOf(job);
    if (!outstanding.has(rank)) return job.remove(); // collected before a coordinator was killed
    const cpu = process.cpuUsage();
    const value = job.returnvalue;
    const checkpoint = decodeCheckpoint(value.checkpoint, `job ${job.id}'s checkpoint`);
    const { logs } = await queue.getJobLogs(job.id as string, 0, -1);
    const history = historyBefore(logs, checkpoint.iter, `job ${job.id}`);
    importFeature(
      db,
      sweep.id,
      rank,
      {
        run: { summary: value.summary, history, checkpoint },
        result: value.result,
        seconds: value.seconds,
        worker: value.worker,
      },
      (runId) =>
        value.attribution ? saveAttribution(db, value.attribution, sweep.spec.model.sha256, runId) : null,
    );
    outstanding.delete(rank);
    request.onEvent({
      type: 'done',
      rank,
      result: value.result,
      worker: value.worker,
      resumedFrom: value.resumedFrom,
      collectCpuSeconds: (({ user, system }) => (user + system) / 1e6)(process.cpuUsage(cpu)),
    });
    await job.remove();
  };
  const fail = async (job: FeatureJob) => {
    const rank = rankOf(job);
    if (outstanding.has(rank)) {
      const error = job.failedReason || 'the job failed without a message';
      failFeature(db, sweep.id, rank, error);
      outstanding.delete(rank);
      request.onEvent({ type: 'failed', rank, error });
    }
    await job.remove();
  };
  const follow = (job: FeatureJob) => {
    const rank = rankOf(job);
    const p = job.progress as Partial<JobProgress> | number;
    const worker = typeof p === 'object' && p.worker ? p.worker : job.processedBy;
    if (worker !== undefined && holders.get(rank) !== worker) {
      holders.set(rank, worker);
      setFeatureWorker(db, sweep.id, rank, worker);
    }
    if (typeof p === 'object' && typeof p.iter === 'number')
      request.onEvent({ type: 'progress', rank, iter: p.iter, total: p.total ?? 0 });
  };
  const each = async (
    state: 'completed' | 'failed' | 'active',
    f: (job: FeatureJob) => Promise<unknown> | void,
  ) => {
    for (let start = 0; ; start += PAGE) {
      const jobs = (await queue.getJobs(state, start, start + PAGE - 1, true)) as (FeatureJob | undefined)[];
      for (const job of jobs) if (ours(job)) await f(job);
      if (jobs.length < PAGE) return;
    }
  };

  try {
    // A feature that failed before is tried again: its failed job, if a killed coordinator left it, goes first.
    for (const rank of outstanding)
      if (sweepFeature(db, sweep.id, rank).status === 'failed') await queue.remove(jobId(key, rank));
    await enqueue([...outstanding]);
    let followed = 0;
    while (outstanding.size > 0 && !request.shouldStop?.()) {
      if (reconnected) {
        reconnected = false;
        await reconcile();
      }
      await each('completed', collect);
      await each('failed', fail);
      if (performance.now() - followed > FOLLOW_MS) {
        followed = performance.now();
        await each('active', follow);
      }
      if (outstanding.size > 0) await sleep(POLL_MS);
    }
  } finally {
    await queue.close();
    client.disconnect();
  }
}
