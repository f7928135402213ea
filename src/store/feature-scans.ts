/** Multi-feature scans in the store: the scan's header, and one row per feature (its stats and examples). */
import type { FeatureScanFeature, FeatureScanResult } from '../data/feature-scan.ts';
import { modelRow, now, type Db } from './database.ts';
import { parseStoredJson, RunNotFoundError } from './errors.ts';

/** Stores a multi-feature scan, a row per feature, in one transaction; its id. */
export function saveFeatureScan(db: Db, scan: FeatureScanResult, modelSha256: string): number {
  return db
    .transaction(() => {
      const { features, ...meta } = scan;
      const id = Number(
        db
          .prepare('INSERT INTO feature_scans (model_id, target, created_at, meta) VALUES (?, ?, ?, ?)')
          .run(
            modelRow(db, { id: scan.model, sha256: modelSha256 }),
            scan.target,
            now(),
            JSON.stringify(meta),
          ).lastInsertRowid,
      );
      const insert = db.prepare(
        `INSERT INTO feature_scan_features (feature_scan_id, rank, target, top_activation, stats, examples)
         VALUES (?, ?, ?, ?, ?, ?)`,
      );
      features.forEach((f, rank) =>
        insert.run(
          id,
          rank,
          f.target,
          f.examples[0]?.activation ?? null,
          JSON.stringify({ index: f.index, stats: f.stats }),
          JSON.stringify(f.examples),
        ),
      );
      return id;
    })
    .immediate();
}

interface FeatureRow {
  rank: number;
  target: string;
  stats: string;
  examples: string;
}

function feature(row: FeatureRow, what: string): FeatureScanFeature {
  const { index, stats } = parseStoredJson(row.stats, `${what}'s statistics`) as Pick<
    FeatureScanFeature,
    'index' | 'stats'
  >;
  return {
    target: row.target,
    index,
    stats,
    examples: parseStoredJson(row.examples, `${what}'s examples`) as FeatureScanFeature['examples'],
  };
}

function meta(db: Db, id: number): Omit<FeatureScanResult, 'features'> {
  const row = db.prepare('SELECT meta FROM feature_scans WHERE id = ?').get(id) as
    { meta: string } | undefined;
  if (!row) throw new RunNotFoundError(`no feature scan with id ${id} in ${db.name} (reverie ls lists them)`);
  return parseStoredJson(row.meta, `feature scan ${id}`) as Omit<FeatureScanResult, 'features'>;
}

/** A stored multi-feature scan, its features in order. */
export function loadFeatureScan(db: Db, id: number): FeatureScanResult {
  const header = meta(db, id);
  const rows = db
    .prepare(
      'SELECT rank, target, stats, examples FROM feature_scan_features WHERE feature_scan_id = ? ORDER BY rank',
    )
    .all(id) as FeatureRow[];
  return { ...header, features: rows.map((r) => feature(r, `feature scan ${id}'s feature ${r.rank}`)) };
}

/** Feature `rank` (its place in the set) of a stored multi-feature scan, read alone. */
export function loadFeatureScanFeature(db: Db, id: number, rank: number): FeatureScanFeature {
  const row = db
    .prepare(
      'SELECT rank, target, stats, examples FROM feature_scan_features WHERE feature_scan_id = ? AND rank = ?',
    )
    .get(id, rank) as FeatureRow | undefined;
  if (!row) {
    const { n } = db
      .prepare('SELECT count(*) AS n FROM feature_scan_features WHERE feature_scan_id = ?')
      .get(id) as { n: number };
    if (n === 0) meta(db, id); // a missing scan is named as such
    throw new RunNotFoundError(
      `feature scan ${id} in ${db.name} has no feature ${rank}; it has features 0..${n - 1}`,
    );
  }
  return feature(row, `feature scan ${id}'s feature ${rank}`);
}

export interface FeatureScanRow {
  id: number;
  model: string;
  target: string;
  createdAt: string;
  features: number;
  context: FeatureScanResult['context'];
}

/** Every multi-feature scan, newest first. */
export function listFeatureScans(db: Db): FeatureScanRow[] {
  const rows = db
    .prepare(
      `SELECT feature_scans.id, models.name AS model, feature_scans.target, feature_scans.created_at AS createdAt,
         feature_scans.meta,
         (SELECT count(*) FROM feature_scan_features WHERE feature_scan_id = feature_scans.id) AS features
       FROM feature_scans JOIN models ON models.id = feature_scans.model_id
       ORDER BY feature_scans.id DESC`,
    )
    .all() as (Omit<FeatureScanRow, 'context'> & { meta: string })[];
  return rows.map(({ meta: text, ...row }) => ({
    ...row,
    context: (parseStoredJson(text, `feature scan ${row.id}`) as { context: FeatureScanRow['context'] })
      .context,
  }));
}
