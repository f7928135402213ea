/** A run's page: what it was asked, its frontier and its progress over the iterations (live while it runs). */
import { FIGURE_COLORS } from '../../report/figure.ts';
import type { Db } from '../../store/database.ts';
import { findRun, storedRun } from '../../store/runs.ts';
import { sweepOfRuns } from '../lookup.ts';
import { runProgress } from '../progress.ts';
import type { TextCache } from '../texts.ts';
import type { RunView } from '../types.ts';
import { runInfo, type JobsView } from './info.ts';

export async function runView(db: Db, textCache: TextCache, jobs: JobsView, id: number): Promise<RunView> {
  const row = findRun(db, id);
  const run = runInfo(db, row, jobs, sweepOfRuns(db).get(id) ?? null);
  const { header } = storedRun(db, id);
  const texts = await textCache.of(row.model.id);
  return {
    run,
    options: { ...header.options, seed: header.seed, bos: header.bos, evaluation: header.evaluation },
    progress: runProgress(db, run, texts).progress,
    colors: { dream: FIGURE_COLORS.dream, frontier: FIGURE_COLORS.frontier },
  };
}
