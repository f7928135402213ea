/**
 * A queue worker (`reverie worker`): takes sweep jobs from Redis, `jobs` at a time, each a feature's dream,
 * comparison and attribution (queue-job.ts), and returns its result through the queue. The model is loaded
 * as the CLI loads it (the model path, the cache, the hub) once per model, and its weights' sha256 must be
 * the job's. A job that throws fails at once, with its message (BullMQ's UnrecoverableError: no retry); a
 * job whose worker dies is taken by another once its lock has lapsed, and resumed from its checkpoint.
 */
import { Queue, UnrecoverableError, Worker, type Job } from 'bullmq';
import { sha256Files } from '../dream/run.ts';
import { resolveModel } from '../io/resolve.ts';
import { loadModel } from '../models/load.ts';
import type { Model } from '../models/model.ts';
import { runQueueJob } from './queue-job.ts';
import {
  DEFAULT_STALL_SECONDS,
  QUEUE_NAME,
  workerName,
  type FeatureJobData,
  type FeatureJobResult,
} from './queue.ts';
import { checkReachable, connect } from './redis.ts';
import type { JobProgress } from './wire.ts';

/** A worker's model is not the one its job was made for. */
export class ModelMismatchError extends Error {
  override name = 'ModelMismatchError';
}

export type WorkerEvent =
  | { type: 'active'; jobId: string; target: string; resumeFrom: number }
  | { type: 'completed'; jobId: string; target: string; seconds: number }
  | { type: 'failed'; jobId: string; target: string; error: string };

export interface WorkerRequest {
  url: string;
  /** Jobs at a time (default 1). */
  jobs?: number;
  /** Roots to look for models in (default: $REVERIE_MODEL_PATH, as the CLI). */
  modelPath?: string[];
  /** Seconds a job outlives this worker (killed) before another takes it (default 30). */
  stallSeconds?: number;
  onEvent?: (event: WorkerEvent) => void;
}

export interface RunningWorker {
  name: string;
  /** Takes no new job; resolves when the jobs in hand are done. */
  close(): Promise<void>;
}

/** The models this worker has loaded, by id, with their weights' sha256. */
class Models {
  private readonly loaded = new Map<string, Promise<{ model: Model; sha256: string }>>();
  constructor(private readonly modelPath?: string[]) {}

  async get(id: string, sha256: string): Promise<Model> {
    let entry = this.loaded.get(id);
    if (!entry) {
      const options = this.modelPath ? { modelPath: this.modelPath } : {};
      entry = (async () => {
        const resolved = await resolveModel(id, options);
        return { model: await loadModel(id, options), sha256: sha256Files([resolved.files.weights]) };
      })();
      this.loaded.set(id, entry);
      entry.catch(() => this.loaded.delete(id));
    }
    const found = await entry;
    if (found.sha256 !== sha256)
      throw new ModelMismatchError(
        `the job's model ${id} has weights sha256 ${sha256.slice(0, 12)}…, this worker's ${found.sha256.slice(0, 12)}…: ` +
          'give the worker the same model (--model-path)',
      );
    return found.model;
  }
}

/** Starts a worker on the queue at `url`; a QueueConnectionError at once if Redis cannot be reached. */
export async function startWorker(request: WorkerRequest): Promise<RunningWorker> {
  await checkReachable(request.url);
  const name = workerName();
  const models = new Models(request.modelPath);
  const stallMs = Math.round((request.stallSeconds ?? DEFAULT_STALL_SECONDS) * 1000);
  const emit = request.onEvent ?? (() => {});
  const connections = [connect(request.url), connect(request.url)] as const;
  const queue = new Queue(QUEUE_NAME, { connection: connections[0] });
  const processJob = async (job: Job<FeatureJobData, FeatureJobResult>): Promise<FeatureJobResult> => {
    const data = job.data;
    try {
      const model = await models.get(data.model.id, data.model.sha256);
      const progress = job.progress as Partial<JobProgress> | number;
      emit({
        type: 'active',
        jobId: job.id as string,
        target: data.target,
        resumeFrom: typeof progress === 'object' ? (progress.iter ?? 0) : 0,
      });
      const result = await runQueueJob(data, {
        model,
        worker: name,
        progress: job.progress,
        logs: async () => (await queue.getJobLogs(job.id as string, 0, -1)).logs,
        log: async (entry) => void (await job.log(entry)),
        report: (p) => job.updateProgress(p as unknown as object),
      });
      emit({ type: 'completed', jobId: job.id as string, target: data.target, seconds: result.seconds });
      return result;
    } catch (error) {
      const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      emit({ type: 'failed', jobId: job.id as string, target: data.target, error: text });
      // Failed for good, with its message: the sweep records it and goes on (a resume tries it again).
      throw new UnrecoverableError(text);
    }
  };
  const worker = new Worker<FeatureJobData, FeatureJobResult>(QUEUE_NAME, processJob, {
    connection: connections[1],
    concurrency: request.jobs ?? 1,
    lockDuration: stallMs,
    stalledInterval: stallMs,
    maxStalledCount: 3,
    name,
  });
  // Lost connections and lapsed locks are reported here; ioredis reconnects, BullMQ goes on.
  worker.on('error', () => {});
  queue.on('error', () => {});
  await worker.waitUntilReady();
  return {
    name,
    close: async () => {
      await worker.close();
      await queue.close();
      for (const c of connections) c.disconnect();
    },
  };
}
