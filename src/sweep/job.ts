/**
 * One feature of a sweep: its dream (a run in the store, continued where a killed sweep left it), the
 * attribution of its best dream, and the paper's comparison with the feature's top dataset examples. What a
 * worker process runs; the result is kept in one transaction with the attribution.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { resolveOptions } from '../dream/options.ts';
import { dream, resumeDream, type DreamProgress } from '../dream/run.ts';
import type { Model } from '../models/model.ts';
import type { Db } from '../store/database.ts';
import { RunBusyError, RunNotFoundError } from '../store/errors.ts';
import { loadFeatureScanFeature } from '../store/feature-scans.ts';
import { saveAttribution } from '../store/results.ts';
import { findRun, runHistory, storedRun, StoreSink } from '../store/runs.ts';
import {
  featureRunName,
  findSweep,
  finishFeature,
  markDreamt,
  setFeatureRun,
  sweepFeature,
  type SweepFeatureResult,
  type SweepPrompt,
} from '../store/sweeps.ts';
import { comparisonBar, featureOutcome, FeatureJobError } from './outcome.ts';

/** A killed worker's run stays owned by its process until that exits: how long to wait for it. */
const CLAIM_TIMEOUT_MS = 30_000;

export interface FeatureJob {
  sweepId: number;
  rank: number;
}

export interface JobContext {
  db: Db;
  model: Model;
  threads?: number;
  onProgress?: (progress: DreamProgress) => void;
  shouldStop?: () => boolean;
}

/** A run being resumed, claimed once the process that held it (a killed worker) has let it go. */
async function claim(db: Db, runId: number): Promise<StoreSink> {
  const deadline = Date.now() + CLAIM_TIMEOUT_MS;
  for (;;) {
    try {
      return StoreSink.resume(db, runId);
    } catch (error) {
      if (!(error instanceof RunBusyError) || Date.now() > deadline) throw error;
      await sleep(200);
    }
  }
}

function runNamed(db: Db, name: string): number | null {
  try {
    return findRun(db, name).id;
  } catch (error) {
    if (error instanceof RunNotFoundError) return null;
    throw error;
  }
}

/**
 * Runs one feature's job to its end: the dream (new, or the stored one continued), then the comparison and
 * attribution, kept together. Returns the result; false where `shouldStop` cut the dream short (the feature
 * stays pending, its run resumable).
 */
export async function runFeatureJob(
  job: FeatureJob,
  context: JobContext,
): Promise<SweepFeatureResult | false> {
  const { db, model } = context;
  const started = performance.now();
  const sweep = findSweep(db, job.sweepId);
  const feature = sweepFeature(db, job.sweepId, job.rank);
  if (sweep.featureScanId === null) throw new FeatureJobError(`sweep ${sweep.id} has no scan yet`);
  const scan = loadFeatureScanFeature(db, sweep.featureScanId, job.rank);
  const bar = comparisonBar(scan.examples as SweepPrompt[], feature.target);
  const options = {
    ...sweep.spec.options,
    ...(context.threads !== undefined && { threads: context.threads }),
  };
  const resolved = resolveOptions(options);
  const common = {
    model,
    modelSha256: sweep.spec.model.sha256,
    ...(context.onProgress && { onProgress: context.onProgress }),
    ...(context.shouldStop && { shouldStop: context.shouldStop }),
  };

  // A run made just before its sweep was killed may not be linked yet: it is found by its name.
  let runId = feature.runId ?? runNamed(db, featureRunName(job.sweepId, job.rank));
  if (feature.status !== 'dreamt') {
    const stored = runId === null ? undefined : storedRun(db, runId);
    const sink = stored
      ? await claim(db, stored.row.id)
      : StoreSink.create(db, {
          name: featureRunName(job.sweepId, job.rank),
          onCreated: (id) => setFeatureRun(db, job.sweepId, job.rank, id),
        });
    let iterations: number;
    try {
      if (stored) {
        // A dream cut short (its sweep killed or stopped) goes on with what is left of its iterations and time.
        const { iter, seconds } = stored.checkpoint;
        ({ iterations } = await resumeDream({
          ...common,
          sink,
          from: stored,
          iters: Math.max(0, resolved.iters - iter),
          ...(resolved.timeLimit > 0 && { timeLimit: Math.max(resolved.timeLimit - seconds, 1e-3) }),
        }));
      } else ({ iterations } = await dream({ ...common, sink, target: feature.target, options }));
      runId = sink.id as number;
    } finally {
      sink.release();
    }
    if (context.shouldStop?.() && iterations < resolved.iters) return false;
    markDreamt(db, job.sweepId, job.rank);
  }

  const run = storedRun(db, runId as number);
  const candidates = function* () {
    for (const record of runHistory(db, runId as number)) yield* record.candidates;
  };
  const { result, attribution } = await featureOutcome({
    model,
    target: feature.target,
    bar,
    candidates,
    bos: run.header.bos,
    attributionK: sweep.spec.attributionK,
    ...(context.threads !== undefined && { threads: context.threads }),
    iterations: run.checkpoint.iter,
    seconds: run.checkpoint.seconds,
  });
  finishFeature(db, job.sweepId, job.rank, result, (performance.now() - started) / 1000, () =>
    attribution ? saveAttribution(db, attribution, sweep.spec.model.sha256, runId as number) : null,
  );
  return result;
}
