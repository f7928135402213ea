/**
 * Dreams the server runs, in its own process: each a run of the store (a StoreSink commits its iterations
 * as `reverie dream` does), at most as many at once as the cores hold at the model's thread count — past
 * that a new dream is refused (429), not queued, so that what the page shows is what runs. Cancelling stops a
 * dream after its iteration, everything done kept (status stopped, resumable with `reverie dream --resume`).
 */
import { EventEmitter } from 'node:events';
import { availableParallelism } from 'node:os';
import { defaultThreads } from '../dream/engine/evaluator.ts';
import type { EpoOptions } from '../dream/options.ts';
import { dream, sha256Files } from '../dream/run.ts';
import { resolveModel } from '../io/resolve.ts';
import { loadModel } from '../models/load.ts';
import type { Model } from '../models/model.ts';
import type { Db } from '../store/database.ts';
import { StoreSink } from '../store/runs.ts';
import { BusyError } from './errors.ts';

export interface DreamJobRequest {
  model: string;
  target: string;
  options: Partial<Pick<EpoOptions, 'iters' | 'seed' | 'seqLen'>>;
}

interface Job {
  runId: number | undefined;
  threads: number;
  stop: boolean;
  done: Promise<void>;
}

/** The models dreams are started with, loaded once (offline: a request never starts a download). */
export type ModelLoader = (id: string) => Promise<{ model: Model; sha256: string }>;

export const loadModelOffline: ModelLoader = async (id) => {
  const resolved = await resolveModel(id, { offline: true });
  return { model: await loadModel(id, { offline: true }), sha256: sha256Files([resolved.files.weights]) };
};

export class DreamJobs {
  /** `iteration` (runId) after each committed iteration; `end` (runId) when a dream ends. */
  readonly events = new EventEmitter();
  private readonly jobs = new Set<Job>();
  private readonly models = new Map<string, Promise<{ model: Model; sha256: string }>>();
  private closing = false;

  constructor(
    private readonly db: Db,
    readonly maxThreads = availableParallelism(),
    private readonly load: ModelLoader = loadModelOffline,
    private readonly onError: (runId: number | undefined, error: unknown) => void = () => {},
  ) {
    this.events.setMaxListeners(0);
  }

  get running(): number {
    return this.jobs.size;
  }

  get threads(): number {
    return [...this.jobs].reduce((sum, job) => sum + job.threads, 0);
  }

  has(runId: number): boolean {
    return [...this.jobs].some((job) => job.runId === runId);
  }

  /** The model of a dream and the sha256 of its weights, loaded once (a failed load is tried again next time). */
  model(id: string): Promise<{ model: Model; sha256: string }> {
    let loaded = this.models.get(id);
    if (!loaded) {
      loaded = this.load(id);
      this.models.set(id, loaded);
      loaded.catch(() => this.models.delete(id));
    }
    return loaded;
  }

  /**
   * Starts a dream; resolves with its run's id once its row exists (after its first evaluation), rejects
   * with its error where it fails before (a bad target or option) or with a BusyError where the cores are
   * taken.
   */
  async start(request: DreamJobRequest): Promise<number> {
    if (this.closing) throw new BusyError('the server is stopping: it starts no dream');
    const { model, sha256 } = await this.model(request.model);
    const threads = Math.min(defaultThreads(model.config), this.maxThreads);
    // Checked and taken in one step (no await between), so that two requests never both take the last cores.
    if (this.jobs.size > 0 && this.threads + threads > this.maxThreads)
      throw new BusyError(
        `${this.jobs.size} dream${this.jobs.size === 1 ? '' : 's'} use ${this.threads} of the ${this.maxThreads} threads ` +
          `this server gives dreams, this one needs ${threads}: cancel one or wait for it to end`,
      );
    const job: Job = { runId: undefined, threads, stop: false, done: Promise.resolve() };
    this.jobs.add(job);
    return new Promise<number>((resolve, reject) => {
      const sink = StoreSink.create(this.db, {
        onCreated: (id) => {
          job.runId = id;
          resolve(id);
        },
      });
      job.done = dream({
        model,
        modelSha256: sha256,
        target: request.target,
        options: { ...request.options, threads },
        sink,
        shouldStop: () => job.stop || this.closing,
        onProgress: () => this.events.emit('iteration', job.runId),
      })
        .then(
          () => undefined,
          (error: unknown) => {
            if (job.runId === undefined) reject(error);
            else this.onError(job.runId, error);
          },
        )
        .finally(() => {
          sink.release();
          this.jobs.delete(job);
          if (job.runId !== undefined) this.events.emit('end', job.runId);
        });
    });
  }

  /** Asks a dream of this server to stop after its iteration; false where this server does not run it. */
  cancel(runId: number): boolean {
    const job = [...this.jobs].find((j) => j.runId === runId);
    if (!job) return false;
    job.stop = true;
    return true;
  }

  /** Stops every dream after its iteration and waits for them to end (their runs kept, as stopped). */
  async close(): Promise<void> {
    this.closing = true;
    await Promise.all([...this.jobs].map((job) => job.done));
  }
}
