/** Scans (with their examples) and attributions in the store. */
import type { ScanResult } from '../data/scan.ts';
import type { Attribution } from '../dream/attribution.ts';
import { modelRow, now, type Db } from './database.ts';
import { parseStoredJson, RunNotFoundError } from './errors.ts';

/** Stores a scan and its examples in one transaction; its id. */
export function saveScan(db: Db, scan: ScanResult, modelSha256: string): number {
  return db
    .transaction(() => {
      const { examples, ...meta } = scan;
      const id = Number(
        db
          .prepare('INSERT INTO scans (model_id, target, created_at, meta) VALUES (?, ?, ?, ?)')
          .run(
            modelRow(db, { id: scan.model, sha256: modelSha256 }),
            scan.target,
            now(),
            JSON.stringify(meta),
          ).lastInsertRowid,
      );
      const insert = db.prepare(
        'INSERT INTO scan_examples (scan_id, rank, example, activation, xent) VALUES (?, ?, ?, ?, ?)',
      );
      examples.forEach((e, rank) => insert.run(id, rank, JSON.stringify(e), e.activation, e.xent));
      return id;
    })
    .immediate();
}

/** A stored scan, examples best first. */
export function loadScan(db: Db, id: number): ScanResult {
  const row = db.prepare('SELECT meta FROM scans WHERE id = ?').get(id) as { meta: string } | undefined;
  if (!row) throw new RunNotFoundError(`no scan with id ${id} in ${db.name} (reverie ls lists them)`);
  const examples = (
    db.prepare('SELECT example FROM scan_examples WHERE scan_id = ? ORDER BY rank').all(id) as {
      example: string;
    }[]
  ).map((r) => parseStoredJson(r.example, `scan ${id}'s examples`));
  return {
    ...(parseStoredJson(row.meta, `scan ${id}`) as Omit<ScanResult, 'examples'>),
    examples,
  } as ScanResult;
}

export interface ScanRow {
  id: number;
  model: string;
  target: string;
  createdAt: string;
  examples: number;
  topActivation: number | null;
}

/** Every scan, newest first. */
export function listScans(db: Db): ScanRow[] {
  return db
    .prepare(
      `SELECT scans.id, models.name AS model, scans.target, scans.created_at AS createdAt,
         count(scan_examples.rank) AS examples, max(scan_examples.activation) AS topActivation
       FROM scans JOIN models ON models.id = scans.model_id
       LEFT JOIN scan_examples ON scan_examples.scan_id = scans.id
       GROUP BY scans.id ORDER BY scans.id DESC`,
    )
    .all() as ScanRow[];
}

/** Stores an attribution (of a run's prompt, when `runId` is given); its id. */
export function saveAttribution(db: Db, result: Attribution, modelSha256: string, runId?: number): number {
  return Number(
    db
      .prepare(
        'INSERT INTO attributions (model_id, run_id, target, created_at, result) VALUES (?, ?, ?, ?, ?)',
      )
      .run(
        modelRow(db, { id: result.model, sha256: modelSha256 }),
        runId ?? null,
        result.target,
        now(),
        JSON.stringify(result),
      ).lastInsertRowid,
  );
}

/** A stored attribution. */
export function loadAttribution(db: Db, id: number): Attribution {
  const row = db.prepare('SELECT result FROM attributions WHERE id = ?').get(id) as
    { result: string } | undefined;
  if (!row) throw new RunNotFoundError(`no attribution with id ${id} in ${db.name}`);
  return parseStoredJson(row.result, `attribution ${id}`) as Attribution;
}
