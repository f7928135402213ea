/**
 * One feature's job as a queue worker runs it, with no store: the dream (from the start, or from the
 * checkpoint a worker that died left in the job's progress, with the iterations before it from the job's
 * log), then the comparison and attribution. Every `checkpointEvery` iterations the new iterations go to the
 * job's log and then the checkpoint to its progress, in that order, so that a progress always finds its
 * iterations logged.
 */
import type { IterationRecord } from '../dream/epo.ts';
import { resolveOptions } from '../dream/options.ts';
import type { Checkpoint, RunHeader, RunSummary } from '../dream/records.ts';
import { dream, resumeDream, type RunSink, type StoredRun } from '../dream/run.ts';
import type { Model } from '../models/model.ts';
import { featureOutcome } from './outcome.ts';
import type { FeatureJobData, FeatureJobResult } from './queue.ts';
import { decodeCheckpoint, encodeCheckpoint, encodeRecord, historyBefore, type JobProgress } from './wire.ts';

/** What a job has of the queue: its progress as it was taken, its log, and the calls that add to them. */
export interface QueueJobContext {
  model: Model;
  worker: string;
  /** The job's progress when this worker took it (a checkpoint, if another worker got that far). */
  progress: unknown;
  /** The job's log entries, oldest first. */
  logs: () => Promise<string[]>;
  log: (entry: string) => Promise<void>;
  report: (progress: JobProgress) => Promise<void>;
  threads?: number;
}

const isProgress = (p: unknown): p is JobProgress =>
  typeof p === 'object' && p !== null && typeof (p as JobProgress).iter === 'number';

/**
 * A run sink that sends the run through the queue: iterations to the log, checkpoints to the progress, in
 * order (a chain of promises), every `every` iterations and at the end. A failed send stops the dream.
 */
class QueueSink implements RunSink {
  header: RunHeader | undefined;
  summary: RunSummary | undefined;
  last: Checkpoint | undefined;
  readonly records: IterationRecord[] = [];
  private batch: IterationRecord[] = [];
  private chain: Promise<void> = Promise.resolve();
  private failure: Error | undefined;
  private best: number | null = null;

  constructor(
    private readonly context: QueueJobContext,
    private readonly every: number,
    private readonly total: number,
  ) {}

  begin(header: RunHeader, start: Checkpoint): void {
    this.header = header;
    this.last = start;
  }

  iteration(record: IterationRecord, after: Checkpoint): void {
    if (this.failure) throw this.failure;
    this.records.push(record);
    this.batch.push(record);
    this.last = after;
    for (const c of record.candidates) if (this.best === null || c.target > this.best) this.best = c.target;
    if (after.iter % this.every === 0) this.send();
  }

  end(summary: RunSummary): void {
    this.summary = summary;
  }

  /** Sends what is not sent yet, and waits for every send. */
  async flush(): Promise<void> {
    if (this.batch.length > 0) this.send();
    await this.chain;
    if (this.failure) throw this.failure;
  }

  private send(): void {
    const entry = JSON.stringify({ records: this.batch.map(encodeRecord) });
    const checkpoint = this.last as Checkpoint;
    const progress: JobProgress = {
      worker: this.context.worker,
      iter: checkpoint.iter,
      total: this.total,
      best: this.best,
      resume: { header: this.header as RunHeader, checkpoint: encodeCheckpoint(checkpoint) },
    };
    this.batch = [];
    this.chain = this.chain
      .then(() => this.context.log(entry))
      .then(() => this.context.report(progress))
      .catch((error: unknown) => {
        this.failure ??= error instanceof Error ? error : new Error(String(error));
      });
  }
}

/** The run a job goes on from: the checkpoint in its progress and the iterations before it in its log. */
async function resumePoint(data: FeatureJobData, context: QueueJobContext): Promise<StoredRun | undefined> {
  const progress = context.progress;
  if (!isProgress(progress) || !progress.resume) return undefined;
  const what = `feature ${data.rank} of sweep ${data.sweepId}`;
  const checkpoint = decodeCheckpoint(progress.resume.checkpoint, `${what}'s checkpoint`);
  const history = historyBefore(await context.logs(), checkpoint.iter, what);
  return { header: progress.resume.header, checkpoint, history };
}

/** Runs one feature's job to its end; what the sweep's process stores. */
export async function runQueueJob(data: FeatureJobData, context: QueueJobContext): Promise<FeatureJobResult> {
  const started = performance.now();
  const { model } = context;
  const options = { ...data.options, ...(context.threads !== undefined && { threads: context.threads }) };
  const resolved = resolveOptions(options);
  const from = await resumePoint(data, context);
  const sink = new QueueSink(context, Math.max(1, data.checkpointEvery), resolved.iters);
  const common = { model, modelSha256: data.model.sha256, sink };
  if (from) {
    // As job.ts goes on with a stored run: what is left of its iterations and of its time.
    const { iter, seconds } = from.checkpoint;
    await resumeDream({
      ...common,
      from,
      iters: Math.max(0, resolved.iters - iter),
      ...(resolved.timeLimit > 0 && { timeLimit: Math.max(resolved.timeLimit - seconds, 1e-3) }),
    });
  } else await dream({ ...common, target: data.target, options });
  await sink.flush();
  const earlier = from ? [...from.history] : [];
  const records = [...earlier, ...sink.records];
  const checkpoint = sink.last as Checkpoint;
  const header = sink.header as RunHeader;
  const { result, attribution } = await featureOutcome({
    model,
    target: data.target,
    bar: data.bar,
    candidates: function* () {
      for (const record of records) yield* record.candidates;
    },
    bos: header.bos,
    attributionK: data.attributionK,
    ...(context.threads !== undefined && { threads: context.threads }),
    iterations: checkpoint.iter,
    seconds: checkpoint.seconds,
  });
  return {
    worker: context.worker,
    header,
    checkpoint: encodeCheckpoint(checkpoint),
    summary: sink.summary as RunSummary,
    result,
    attribution: attribution ?? null,
    resumedFrom: from?.checkpoint.iter ?? 0,
    seconds: (performance.now() - started) / 1000,
  };
}
