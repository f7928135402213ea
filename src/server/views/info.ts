/** Runs and sweeps as the pages list them. */
import type { Db } from '../../store/database.ts';
import type { RunRow } from '../../store/runs.ts';
import { sweepFeatures, type SweepRow } from '../../store/sweeps.ts';
import { winsLine } from '../../report/sweep-table.ts';
import { runningFeatures } from '../lookup.ts';
import type { RunInfo, SweepInfo, SweepQueueInfo } from '../types.ts';
import { featureUrl, runUrl, sweepUrl } from '../urls.ts';

export const runLabel = (row: { id: number; name: string | null }): string =>
  row.name === null ? `run ${row.id}` : `run ${row.id} (${row.name})`;

/** What the pages need to know of the server's own dreams. */
export interface JobsView {
  has(runId: number): boolean;
}

export function runInfo(db: Db, row: RunRow, jobs: JobsView, sweepId: number | null = null): RunInfo {
  const iters = (
    db
      .prepare(`SELECT json_extract(header, '$.options.iters') AS iters FROM runs WHERE id = ?`)
      .get(row.id) as { iters: number | null } | undefined
  )?.iters;
  return {
    id: row.id,
    name: row.name,
    label: runLabel(row),
    model: row.model.id,
    target: row.target,
    status: row.status,
    iterations: row.iterations,
    iters: iters ?? null,
    evaluations: row.evaluations,
    seconds: row.seconds,
    bestTarget: row.bestTarget,
    updatedAt: row.updatedAt,
    url: runUrl(row.id),
    featureUrl: featureUrl(row.model.id, row.target),
    sweepId,
    job: jobs.has(row.id),
    live: row.writer !== null,
  };
}

/**
 * A queued sweep's jobs: a feature not finished is running where a worker has taken its job, else queued
 * (while the sweep runs; stopped, its jobs wait on the queue for a resume to collect them).
 */
function queueInfo(db: Db, row: SweepRow): SweepQueueInfo | null {
  if (row.queue === null) return null;
  const features = sweepFeatures(db, row.id);
  const open = features.filter((f) => f.status === 'pending' || f.status === 'dreamt');
  const held = open.filter((f) => f.worker !== null);
  return {
    url: row.queue.url,
    queued: open.length - held.length,
    running: held.map((f) => ({ rank: f.rank, target: f.target, worker: f.worker as string })),
    finished: row.finished,
    failed: row.failed,
  };
}

export function sweepInfo(db: Db, row: SweepRow): SweepInfo {
  return {
    id: row.id,
    name: row.name,
    label: row.name === null ? `sweep ${row.id}` : `sweep ${row.id} (${row.name})`,
    model: row.spec.model.id,
    target: row.spec.target,
    status: row.status,
    features: row.features,
    finished: row.finished,
    failed: row.failed,
    wins: row.wins,
    winsLine: winsLine(row),
    seconds: row.seconds,
    updatedAt: row.updatedAt,
    url: sweepUrl(row.id),
    running: row.status === 'running' ? runningFeatures(db, row.id) : [],
    queue: queueInfo(db, row),
  };
}
