/**
 * What the pages look up across the store's tables by model and target (a feature's page gathers every
 * sweep, scan, run and attribution of one feature); rows are then read with the store's own functions.
 */
import type { FeatureScanResult } from '../data/feature-scan.ts';
import type { Db } from '../store/database.ts';
import { RunNotFoundError } from '../store/errors.ts';
import { parseStoredJson } from '../store/errors.ts';

/** Every model of the store, with how many runs, sweeps and scans (single and multi-feature) used it. */
export function listModels(db: Db): { name: string; runs: number; sweeps: number; scans: number }[] {
  return db
    .prepare(
      `SELECT name,
         (SELECT count(*) FROM runs JOIN models m ON m.id = runs.model_id WHERE m.name = models.name) AS runs,
         (SELECT count(*) FROM sweeps JOIN models m ON m.id = sweeps.model_id WHERE m.name = models.name) AS sweeps,
         (SELECT count(*) FROM scans JOIN models m ON m.id = scans.model_id WHERE m.name = models.name) +
         (SELECT count(*) FROM feature_scans JOIN models m ON m.id = feature_scans.model_id WHERE m.name = models.name)
           AS scans
       FROM models GROUP BY name ORDER BY name`,
    )
    .all() as { name: string; runs: number; sweeps: number; scans: number }[];
}

/** Whether a model of this name is in the store. */
export const knownModel = (db: Db, name: string): boolean =>
  db.prepare('SELECT 1 FROM models WHERE name = ?').get(name) !== undefined;

/** Whether the store holds this target of this model anywhere (a run, a scan, a sweep's feature). */
export function knownTarget(db: Db, model: string, target: string): boolean {
  const found = db
    .prepare(
      `SELECT 1 FROM models m WHERE m.name = @model AND (
         EXISTS (SELECT 1 FROM runs WHERE model_id = m.id AND target = @target)
         OR EXISTS (SELECT 1 FROM scans WHERE model_id = m.id AND target = @target)
         OR EXISTS (SELECT 1 FROM feature_scan_features f JOIN feature_scans s ON s.id = f.feature_scan_id
                    WHERE s.model_id = m.id AND f.target = @target)
         OR EXISTS (SELECT 1 FROM sweep_features f JOIN sweeps s ON s.id = f.sweep_id
                    WHERE s.model_id = m.id AND f.target = @target))`,
    )
    .get({ model, target });
  return found !== undefined;
}

/** Where a feature of a model is kept: its sweeps and multi-feature scans (with its rank), runs, scans, attributions; newest first. */
export interface FeatureHolders {
  sweeps: { id: number; name: string | null; rank: number }[];
  featureScans: { id: number; rank: number }[];
  runs: number[];
  scans: number[];
  attributions: number[];
}

export function featureHolders(db: Db, model: string, target: string): FeatureHolders {
  const ids = (sql: string) => (db.prepare(sql).all(model, target) as { id: number }[]).map((r) => r.id);
  return {
    sweeps: db
      .prepare(
        `SELECT s.id, s.name, f.rank FROM sweep_features f JOIN sweeps s ON s.id = f.sweep_id
         JOIN models m ON m.id = s.model_id WHERE m.name = ? AND f.target = ? ORDER BY s.id DESC`,
      )
      .all(model, target) as FeatureHolders['sweeps'],
    featureScans: db
      .prepare(
        `SELECT s.id, f.rank FROM feature_scan_features f JOIN feature_scans s ON s.id = f.feature_scan_id
         JOIN models m ON m.id = s.model_id WHERE m.name = ? AND f.target = ? ORDER BY s.id DESC`,
      )
      .all(model, target) as FeatureHolders['featureScans'],
    runs: ids(
      'SELECT runs.id FROM runs JOIN models m ON m.id = runs.model_id WHERE m.name = ? AND runs.target = ? ORDER BY runs.id DESC',
    ),
    scans: ids(
      'SELECT scans.id FROM scans JOIN models m ON m.id = scans.model_id WHERE m.name = ? AND scans.target = ? ORDER BY scans.id DESC',
    ),
    attributions: ids(
      `SELECT a.id FROM attributions a JOIN models m ON m.id = a.model_id WHERE m.name = ? AND a.target = ?
       ORDER BY a.id DESC`,
    ),
  };
}

/** A multi-feature scan's header (everything but its features), without reading its features. */
export function featureScanHeader(db: Db, id: number): Omit<FeatureScanResult, 'features'> {
  const row = db.prepare('SELECT meta FROM feature_scans WHERE id = ?').get(id) as
    { meta: string } | undefined;
  if (!row) throw new RunNotFoundError(`no feature scan with id ${id} in ${db.name}`);
  return parseStoredJson<Omit<FeatureScanResult, 'features'>>(row.meta, `feature scan ${id}`);
}

/** The sweep a run dreams a feature of, by run id. */
export function sweepOfRuns(db: Db): Map<number, number> {
  const rows = db.prepare('SELECT run_id, sweep_id FROM sweep_features WHERE run_id IS NOT NULL').all() as {
    run_id: number;
    sweep_id: number;
  }[];
  return new Map(rows.map((r) => [r.run_id, r.sweep_id]));
}

/** The running dreams of a sweep's features, with their runs' iterations and their headers' totals. */
export function runningFeatures(
  db: Db,
  sweepId: number,
): { rank: number; target: string; runId: number; iterations: number; iters: number | null }[] {
  const rows = db
    .prepare(
      `SELECT f.rank, f.target, r.id AS runId, r.iterations, json_extract(r.header, '$.options.iters') AS iters
       FROM sweep_features f JOIN runs r ON r.id = f.run_id
       WHERE f.sweep_id = ? AND r.status = 'running' AND f.status = 'pending' ORDER BY f.rank`,
    )
    .all(sweepId) as {
    rank: number;
    target: string;
    runId: number;
    iterations: number;
    iters: number | null;
  }[];
  return rows;
}
