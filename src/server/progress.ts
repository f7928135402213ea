/**
 * A run's frontier over its iterations: after each iteration, the exact non-dominated set of every candidate
 * so far, the best activation so far, and the best at a cross-entropy no worse than a bar (the median top
 * dataset example's: the paper's comparison). The best under the bar always lies on the frontier, so the
 * frontier alone carries it forward.
 */
import type { Candidate } from '../dream/epo.ts';
import { nondominatedFrontier, uniquePrompts } from '../dream/frontier.ts';
import type { Db } from '../store/database.ts';
import { decodeCandidates } from '../store/codec.ts';
import type { Texts } from './texts.ts';
import type { FrontierPointView, RunProgress, SeriesPoint } from './types.ts';

export class FrontierTracker {
  frontier: Candidate[] = [];
  best = -Infinity;
  readonly series: SeriesPoint[] = [];
  /** The last iteration added. */
  iter = -1;

  constructor(private readonly bar: number | null = null) {}

  /** Every prompt met so far: each counts once, at its first values, as in the run's own summary. */
  private readonly seen = new Set<string>();

  add(iter: number, candidates: readonly Candidate[]): SeriesPoint {
    const fresh = uniquePrompts(candidates, this.seen);
    this.frontier = nondominatedFrontier([...this.frontier, ...fresh]);
    for (const c of candidates) if (c.target > this.best) this.best = c.target;
    let fluent: number | null = null;
    if (this.bar !== null)
      for (const p of this.frontier)
        if (p.xent <= this.bar && (fluent === null || p.target > fluent)) fluent = p.target;
    const point = { iter, best: this.best, fluent };
    this.series.push(point);
    this.iter = iter;
    return point;
  }

  points(texts: Texts): FrontierPointView[] {
    return this.frontier.map(({ ids, target, xent }) => ({ ids, target, xent, text: texts.text(ids) }));
  }
}

/**
 * A run's iterations after `after`, in order, each as its candidates (read from the store as committed: what
 * a live page polls for).
 */
export function* iterationsAfter(
  db: Db,
  runId: number,
  after: number,
): Generator<{ iter: number; candidates: Candidate[] }> {
  const rows = db
    .prepare('SELECT iter, candidates FROM iterations WHERE run_id = ? AND iter > ? ORDER BY iter')
    .iterate(runId, after) as IterableIterator<{ iter: number; candidates: Buffer }>;
  for (const row of rows)
    yield {
      iter: row.iter,
      candidates: decodeCandidates(row.candidates, `run ${runId}'s iteration ${row.iter}`),
    };
}

/** A stored run's progress so far, and the tracker that goes on from there. */
export function runProgress(
  db: Db,
  run: { id: number; label: string },
  texts: Texts,
  bar: number | null = null,
): { progress: RunProgress; tracker: FrontierTracker } {
  const tracker = new FrontierTracker(bar);
  for (const { iter, candidates } of iterationsAfter(db, run.id, -1)) tracker.add(iter, candidates);
  return {
    tracker,
    progress: {
      runId: run.id,
      label: run.label,
      series: [...tracker.series],
      frontier: tracker.points(texts),
    },
  };
}
