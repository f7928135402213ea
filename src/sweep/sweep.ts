/**
 * A sweep: every feature of a set (a layer's neurons, an SAE's features) scanned in one pass over a corpus,
 * then dreamed one by one on a pool of worker processes (or as jobs on a BullMQ queue for `reverie worker`s
 * on other machines: coordinator.ts), each dream attributed and compared with the feature's top dataset
 * examples — the paper's figure for a whole layer. Everything goes to the store as it is done, so a sweep
 * killed at any moment is resumed (`resumeSweep`) without re-running a finished feature.
 */
import { randomUUID } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { existsSync } from 'node:fs';
import type { ScanProgress } from '../data/scan.ts';
import { scanFeatures } from '../data/feature-scan.ts';
import { defaultThreads } from '../dream/engine/evaluator.ts';
import { checkAgainstModel, resolveOptions, type EpoOptions } from '../dream/options.ts';
import { resolveBos, sha256Files } from '../dream/run.ts';
import { resolveModel } from '../io/resolve.ts';
import type { Model } from '../models/model.ts';
import { parseFeatureSet } from '../objectives/features.ts';
import { openStore, type Db } from '../store/database.ts';
import { saveFeatureScan } from '../store/feature-scans.ts';
import {
  failFeature,
  findSweep,
  sweepFeatures,
  SweepHandle,
  type SweepFeatureResult,
  type SweepRow,
  type SweepSpec,
} from '../store/sweeps.ts';
import { runQueued, type QueueEvent } from './coordinator.ts';
import { runPool } from './pool.ts';
import { checkReachable, maskUrl } from './redis.ts';

export const DEFAULT_SWEEP_OPTIONS = { top: 64, attributionK: 64 } as const;

/** How often a running sweep brings its row up to date between features. */
const HEARTBEAT_MS = 5000;

/** A sweep that cannot run as asked. */
export class SweepError extends Error {
  override name = 'SweepError';
}

/** Where a sweep stands, after each event. */
export interface SweepProgress {
  sweepId: number;
  phase: 'scan' | 'dream';
  /** The scan's progress, in the scan phase. */
  scan?: ScanProgress;
  features: number;
  finished: number;
  failed: number;
  wins: number;
  /** Finished in this call, and the seconds of this call's dream phase so far. */
  finishedNow: number;
  dreamSeconds: number;
  /** The features being dreamed: their iteration and the run's total. */
  running: { rank: number; target: string; iter: number; total: number }[];
  /** The feature just finished (or failed), if that is what this event is; on a queue, where it ran. */
  done?: {
    rank: number;
    target: string;
    result?: SweepFeatureResult;
    error?: string;
    worker?: string;
    /** The iteration its dream went on from: 0, or a checkpoint a killed worker left. */
    resumedFrom?: number;
    /** CPU seconds this process took to collect it from the queue into the store (the sweep's one writer). */
    collectCpuSeconds?: number;
  };
  /** Seconds left, from the share done so far (iterations of running dreams count). */
  eta: number | undefined;
}

export interface SweepCommon {
  /** The store's path: the workers open it too. */
  store: string;
  /** Worker processes (default: defaultJobs). */
  jobs?: number;
  onProgress?: (progress: SweepProgress) => void;
  /** Checked as the sweep goes: true ends it after the dreams' current iterations (resumable). */
  shouldStop?: () => boolean;
  /**
   * Run the dreams as jobs on this queue (BullMQ on Redis: redis://[:PASSWORD@]HOST:PORT[/DB], rediss:// for
   * TLS) for `reverie worker`s to take, instead of on local worker processes. Stopped, the jobs stay queued.
   */
  queue?: string;
  /** On a queue: a dream sends its checkpoint every this many iterations (default CHECKPOINT_EVERY). */
  checkpointEvery?: number;
}

export interface SweepRequest extends SweepCommon {
  model: Model;
  /** The model as the workers load it, a path or hub id (default: model.id, as loadModel named it). */
  modelRef?: string;
  /** The sha256 of its weights (default: hashed from the files modelRef resolves to). */
  modelSha256?: string;
  /** A feature set: `HOOK[*]`, `HOOK[a:b]`, `HOOK[i,j]`, `sae:DIR[…]` (see parseFeatureSet). */
  target: string;
  corpus: readonly string[];
  /** Examples kept per feature (default 64). */
  top?: number;
  maxTokens?: number;
  /** The dreams' options (the defaults of `dream`); seqLen is also the scan's window. */
  options?: Partial<EpoOptions>;
  attributionK?: number;
  name?: string;
}

export interface SweepResumeRequest extends SweepCommon {
  /** The sweep's id or name. */
  sweep: string | number;
  model: Model;
}

/** The default worker count: as many dreams as the cores hold at the model's thread default. */
export function defaultJobs(model: Model, threads?: number): number {
  return Math.max(1, Math.floor(availableParallelism() / (threads ?? defaultThreads(model.config))));
}

/** Runs a sweep from its start; returns its row when this call ends (finished, or stopped). */
export async function sweep(request: SweepRequest): Promise<SweepRow> {
  const { model } = request;
  const options = request.options ?? {};
  const resolved = resolveOptions(options);
  const bos = resolveBos(model, resolved);
  checkAgainstModel(resolved, model.config, bos);
  const set = parseFeatureSet(request.target, { model, seqLen: resolved.seqLen + (bos === null ? 0 : 1) });
  if (request.corpus.length === 0) throw new SweepError('a sweep needs at least one corpus file');
  if (request.queue !== undefined) await checkReachable(request.queue);
  const ref = request.modelRef ?? model.id;
  const sha256 = request.modelSha256 ?? sha256Files([(await resolveModel(ref)).files.weights]);
  const spec: SweepSpec = {
    model: { id: existsSync(ref) ? resolve(ref) : ref, sha256 },
    target: set.spec,
    corpus: request.corpus.map((file) => resolve(file)),
    top: request.top ?? DEFAULT_SWEEP_OPTIONS.top,
    ...(request.maxTokens !== undefined && { maxTokens: request.maxTokens }),
    options,
    attributionK: request.attributionK ?? DEFAULT_SWEEP_OPTIONS.attributionK,
  };
  const db = openStore(request.store);
  try {
    const handle = SweepHandle.create(db, spec, set.targets, request.name);
    return await go(db, handle, model, request);
  } finally {
    db.close();
  }
}

/** Goes on with a stored sweep: the scan if it has none, then every feature not finished. */
export async function resumeSweep(request: SweepResumeRequest): Promise<SweepRow> {
  const db = openStore(request.store, { create: false });
  try {
    const stored = findSweep(db, request.sweep);
    if (stored.queue !== null && request.queue === undefined)
      throw new SweepError(
        `sweep ${stored.id} ran its dreams on the queue ${stored.queue.url}: give that queue again to collect them`,
      );
    if (request.queue !== undefined) await checkReachable(request.queue);
    const handle = SweepHandle.claim(db, request.sweep);
    return await go(db, handle, request.model, request);
  } finally {
    db.close();
  }
}

async function go(db: Db, handle: SweepHandle, model: Model, request: SweepCommon): Promise<SweepRow> {
  try {
    const row = handle.row;
    const { spec } = row;
    const options = resolveOptions(spec.options);
    const jobs = request.jobs ?? defaultJobs(model, spec.options.threads);
    const progress = new SweepTracker(db, handle.id, request.onProgress);
    if (row.featureScanId === null) {
      const bos = resolveBos(model, options);
      const scan = await scanFeatures({
        model,
        target: spec.target,
        corpus: spec.corpus,
        window: options.seqLen,
        top: spec.top,
        bos: bos !== null,
        ...(spec.maxTokens !== undefined && { maxTokens: spec.maxTokens }),
        onProgress: (p) => progress.scan(p),
      });
      handle.attachScan(() => saveFeatureScan(db, scan, spec.model.sha256));
    }
    handle.touch();
    const ranks = sweepFeatures(db, handle.id)
      .filter((f) => f.status !== 'finished')
      .map((f) => f.rank);
    progress.startDreams();
    let stop = false;
    let touched = performance.now();
    const onEvent = (event: QueueEvent) => {
      // The sweep's seconds and heartbeat: as features end, and every few seconds between.
      if (event.type !== 'progress' || performance.now() - touched > HEARTBEAT_MS) {
        handle.touch();
        touched = performance.now();
      }
      progress.event(event);
    };
    if (request.queue !== undefined) {
      const key = row.queue?.key ?? `s${randomUUID().replaceAll('-', '')}`;
      handle.setQueue({ url: maskUrl(request.queue), key });
      await runQueued({
        db,
        sweep: handle.row,
        url: request.queue,
        key,
        ranks,
        ...(request.checkpointEvery !== undefined && { checkpointEvery: request.checkpointEvery }),
        onEvent,
        shouldStop: () => (stop ||= request.shouldStop?.() === true),
      });
      return handle.end();
    }
    await runPool({
      ranks,
      sweepId: handle.id,
      jobs,
      store: db.name,
      model: spec.model.id,
      ...(spec.options.threads !== undefined && { threads: spec.options.threads }),
      shouldStop: () => (stop ||= request.shouldStop?.() === true),
      onEvent: ({ worker: _, ...event }) => {
        if (event.type === 'failed') failFeature(db, handle.id, event.rank, event.error);
        onEvent(event);
      },
    });
    return handle.end();
  } finally {
    handle.release();
  }
}

/** Counts and timing for the progress of a sweep's call. */
class SweepTracker {
  private readonly running = new Map<number, { iter: number; total: number }>();
  private readonly targets: string[];
  private started = performance.now();
  private finishedNow = 0;
  private counts = { finished: 0, failed: 0, wins: 0 };

  constructor(
    private readonly db: Db,
    private readonly sweepId: number,
    private readonly report?: (progress: SweepProgress) => void,
  ) {
    this.targets = sweepFeatures(db, sweepId).map((f) => f.target);
    this.recount();
  }

  /** The store's counts, read again when a feature ends. */
  private recount(): void {
    const features = sweepFeatures(this.db, this.sweepId);
    this.counts = {
      finished: features.filter((f) => f.status === 'finished').length,
      failed: features.filter((f) => f.status === 'failed').length,
      wins: features.filter((f) => f.result?.win).length,
    };
  }

  scan(p: ScanProgress): void {
    this.emit('scan', { scan: p });
  }

  startDreams(): void {
    this.started = performance.now();
    this.emit('dream', {});
  }

  event(event: QueueEvent): void {
    if (event.type === 'progress') {
      this.running.set(event.rank, { iter: event.iter, total: event.total });
      this.emit('dream', {});
    } else if (event.type === 'done' || event.type === 'failed' || event.type === 'stopped') {
      this.running.delete(event.rank);
      if (event.type === 'done') this.finishedNow++;
      this.recount();
      const target = this.targets[event.rank] as string;
      this.emit('dream', {
        ...(event.type !== 'stopped' && {
          done: {
            rank: event.rank,
            target,
            ...(event.type === 'done' ? { result: event.result } : { error: event.error }),
            ...(event.worker !== undefined && { worker: event.worker }),
            ...(event.resumedFrom !== undefined && { resumedFrom: event.resumedFrom }),
            ...(event.collectCpuSeconds !== undefined && { collectCpuSeconds: event.collectCpuSeconds }),
          },
        }),
      });
    }
  }

  private emit(phase: SweepProgress['phase'], extra: Partial<SweepProgress>): void {
    if (!this.report) return;
    const { finished, failed, wins } = this.counts;
    const features = this.targets.length;
    const seconds = (performance.now() - this.started) / 1000;
    // The share of this call's work done: finished features, and the running dreams' iterations.
    const todo = features - finished - failed + this.finishedNow;
    const partial = [...this.running.values()].reduce((s, r) => s + r.iter / Math.max(1, r.total), 0);
    const done = this.finishedNow + partial;
    const eta = phase === 'dream' && done > 0 && todo > 0 ? (seconds * (todo - done)) / done : undefined;
    this.report({
      sweepId: this.sweepId,
      phase,
      features,
      finished,
      failed,
      wins,
      finishedNow: this.finishedNow,
      dreamSeconds: phase === 'dream' ? seconds : 0,
      running: [...this.running].map(([rank, r]) => ({ rank, target: this.targets[rank] as string, ...r })),
      eta,
      ...extra,
    });
  }
}
