/** The home page: the store's models, sweeps (live), recent dreams and scans. */
import { DEFAULT_MODEL } from '../../io/resolve.ts';
import type { Db } from '../../store/database.ts';
import { listFeatureScans } from '../../store/feature-scans.ts';
import { listScans } from '../../store/results.ts';
import { listRuns } from '../../store/runs.ts';
import { listSweeps } from '../../store/sweeps.ts';
import { listModels, sweepOfRuns } from '../lookup.ts';
import type { HomeView, ScanInfo } from '../types.ts';
import { featureUrl, scanUrl } from '../urls.ts';
import { runInfo, sweepInfo, type JobsView } from './info.ts';

/** Runs the home page lists, newest first. */
const RECENT_RUNS = 40;

export function homeView(
  db: Db,
  jobs: JobsView & { running: number; threads: number; maxThreads: number },
): HomeView {
  const sweepOf = sweepOfRuns(db);
  const scans: ScanInfo[] = [
    ...listFeatureScans(db).map((s) => ({
      kind: 'features' as const,
      id: s.id,
      model: s.model,
      target: s.target,
      createdAt: s.createdAt,
      size: s.features,
      context: s.context,
      url: scanUrl(s.id),
    })),
    ...listScans(db).map((s) => ({
      kind: 'single' as const,
      id: s.id,
      model: s.model,
      target: s.target,
      createdAt: s.createdAt,
      size: s.examples,
      context: 'window' as const,
      url: featureUrl(s.model, s.target),
    })),
  ].sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  const models = listModels(db);
  return {
    store: db.name,
    models,
    sweeps: listSweeps(db).map((row) => sweepInfo(db, row)),
    runs: listRuns(db)
      .slice(0, RECENT_RUNS)
      .map((row) => runInfo(db, row, jobs, sweepOf.get(row.id) ?? null)),
    scans,
    jobs: { running: jobs.running, threads: jobs.threads, maxThreads: jobs.maxThreads },
    defaultModel:
      models.some((m) => m.name === DEFAULT_MODEL) || models.length === 0
        ? DEFAULT_MODEL
        : (models[0]?.name ?? DEFAULT_MODEL),
  };
}
