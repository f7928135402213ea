/**
 * Sweeps in the store: a feature set, its one multi-feature scan, and per feature a dream run, the attribution
 * of its best dream and the comparison with the dataset. A feature's row is finished in one transaction (its
 * attribution and result together), so a sweep killed at any moment keeps every finished feature. The sweep
 * is owned by the process running it, as a run is (owner.ts); the dreams are runs of their own.
 */
import type { EpoOptions } from '../dream/options.ts';
import type { IterationRecord } from '../dream/epo.ts';
import type { Checkpoint, RunSummary } from '../dream/records.ts';
import { modelRow, now, type Db } from './database.ts';
import { parseStoredJson, RunBusyError, RunNotFoundError, StoreError } from './errors.ts';
import { newOwner, writerOf } from './owner.ts';
import { importRun } from './runs.ts';

/** What a sweep was asked, as stored: a resume runs it again from this alone. */
export interface SweepSpec {
  /** The model as given (a path or hub id) and the sha256 of its weights. */
  model: { id: string; sha256: string };
  /** The feature set, e.g. `blocks.2.mlp.hook_post[0:172]`. */
  target: string;
  /** Corpus files, absolute paths. */
  corpus: string[];
  /** Examples kept per feature. */
  top: number;
  maxTokens?: number;
  /** The dreams' options as given (each dream resolves them; seqLen is also the scan's window). */
  options: Partial<EpoOptions>;
  /** Swapped tokens per position of the best dream's attribution. */
  attributionK: number;
}

/** A dreamed prompt or a dataset example, as a sweep's table shows it. */
export interface SweepPrompt {
  ids: number[];
  text: string;
  activation: number;
  xent: number;
}

/** One feature's outcome: the paper's comparison, for this feature. */
export interface SweepFeatureResult {
  /** The top dataset example, and the median xent of the top examples (the fluency bar). */
  topExample: SweepPrompt;
  medianXent: number;
  /** The best candidate the dream evaluated at xent ≤ medianXent, or null where none was that fluent. */
  bestDream: SweepPrompt | null;
  /** bestDream.activation − topExample.activation, or null. */
  margin: number | null;
  win: boolean;
  /** The dream's iterations and seconds. */
  iterations: number;
  seconds: number;
}

export type SweepStatus = 'running' | 'stopped' | 'finished' | 'interrupted';
/** pending: not yet (or partly) dreamed; dreamt: its dream is done, not yet its comparison; then finished or failed. */
export type FeatureStatus = 'pending' | 'dreamt' | 'finished' | 'failed';

export interface SweepRow {
  id: number;
  name: string | null;
  spec: SweepSpec;
  status: SweepStatus;
  createdAt: string;
  updatedAt: string;
  /** Seconds the sweep has run, over all its calls. */
  seconds: number;
  featureScanId: number | null;
  features: number;
  finished: number;
  failed: number;
  wins: number;
  writer: { host: string; pid: number } | null;
  /** Where its jobs go when it runs on a queue (BullMQ on Redis), else null. */
  queue: SweepQueue | null;
}

/** A sweep's queue as stored: the Redis URL with its password masked, and the key of the sweep's jobs. */
export interface SweepQueue {
  url: string;
  key: string;
}

export interface SweepFeatureRow {
  rank: number;
  target: string;
  status: FeatureStatus;
  runId: number | null;
  attributionId: number | null;
  result: SweepFeatureResult | null;
  error: string | null;
  /** Wall seconds of the feature's job (dream and attribution), where finished. */
  seconds: number | null;
  /** On a queue: the worker (`host:pid`) holding its job, or that finished it. */
  worker: string | null;
}

/** A sweep that another live process is running. */
export class SweepBusyError extends RunBusyError {
  override name = 'SweepBusyError';
}

interface RawSweep {
  id: number;
  name: string | null;
  request: string;
  status: 'running' | 'stopped' | 'finished';
  created_at: string;
  updated_at: string;
  feature_scan_id: number | null;
  seconds: number;
  owner: string | null;
  queue: string | null;
  features: number;
  finished: number;
  failed: number;
  wins: number;
}

const SELECT_SWEEP = `SELECT sweeps.*,
    (SELECT count(*) FROM sweep_features f WHERE f.sweep_id = sweeps.id) AS features,
    (SELECT count(*) FROM sweep_features f WHERE f.sweep_id = sweeps.id AND f.status = 'finished') AS finished,
    (SELECT count(*) FROM sweep_features f WHERE f.sweep_id = sweeps.id AND f.status = 'failed') AS failed,
    (SELECT count(*) FROM sweep_features f WHERE f.sweep_id = sweeps.id
       AND json_extract(f.result, '$.win') = 1) AS wins
  FROM sweeps`;

const label = (raw: { id: number; name: string | null }): string =>
  raw.name === null ? `sweep ${raw.id}` : `sweep ${raw.id} (${raw.name})`;

function rowOf(raw: RawSweep): SweepRow {
  const writer = writerOf(raw.owner, raw.updated_at, label(raw));
  return {
    id: raw.id,
    name: raw.name,
    spec: parseStoredJson<SweepSpec>(raw.request, `${label(raw)}'s request`),
    status: raw.status === 'running' && !writer ? 'interrupted' : raw.status,
    createdAt: raw.created_at,
    updatedAt: raw.updated_at,
    seconds: raw.seconds,
    featureScanId: raw.feature_scan_id,
    features: raw.features,
    finished: raw.finished,
    failed: raw.failed,
    wins: raw.wins,
    writer,
    queue: raw.queue === null ? null : parseStoredJson<SweepQueue>(raw.queue, `${label(raw)}'s queue`),
  };
}

function rawSweep(db: Db, ref: string | number): RawSweep {
  const byId = typeof ref === 'number' || /^\d+$/.test(ref);
  const raw = (
    byId
      ? db.prepare(`${SELECT_SWEEP} WHERE sweeps.id = ?`).get(Number(ref))
      : db.prepare(`${SELECT_SWEEP} WHERE sweeps.name = ?`).get(ref)
  ) as RawSweep | undefined;
  if (!raw)
    throw new RunNotFoundError(
      `no sweep ${byId ? `with id ${ref}` : `named "${ref}"`} in ${db.name} (reverie ls lists them)`,
    );
  return raw;
}

/** The sweep with this id or name. */
export function findSweep(db: Db, ref: string | number): SweepRow {
  return rowOf(rawSweep(db, ref));
}

/** Every sweep, newest first. */
export function listSweeps(db: Db): SweepRow[] {
  return (db.prepare(`${SELECT_SWEEP} ORDER BY sweeps.id DESC`).all() as RawSweep[]).map(rowOf);
}

interface RawFeature {
  rank: number;
  target: string;
  status: FeatureStatus;
  run_id: number | null;
  attribution_id: number | null;
  result: string | null;
  error: string | null;
  seconds: number | null;
  worker: string | null;
}

const featureOf = (sweepId: number, r: RawFeature): SweepFeatureRow => ({
  rank: r.rank,
  target: r.target,
  status: r.status,
  runId: r.run_id,
  attributionId: r.attribution_id,
  result:
    r.result === null
      ? null
      : parseStoredJson<SweepFeatureResult>(r.result, `sweep ${sweepId}'s feature ${r.rank}`),
  error: r.error,
  seconds: r.seconds,
  worker: r.worker,
});

/** A sweep's features, in the set's order. */
export function sweepFeatures(db: Db, sweepId: number): SweepFeatureRow[] {
  return (
    db.prepare('SELECT * FROM sweep_features WHERE sweep_id = ? ORDER BY rank').all(sweepId) as RawFeature[]
  ).map((r) => featureOf(sweepId, r));
}

/** One feature of a sweep. */
export function sweepFeature(db: Db, sweepId: number, rank: number): SweepFeatureRow {
  const raw = db
    .prepare('SELECT * FROM sweep_features WHERE sweep_id = ? AND rank = ?')
    .get(sweepId, rank) as RawFeature | undefined;
  if (!raw) throw new RunNotFoundError(`sweep ${sweepId} has no feature ${rank}`);
  return featureOf(sweepId, raw);
}

/** The name of the dream run of a sweep's feature. */
export const featureRunName = (sweepId: number, rank: number): string => `sweep-${sweepId}-${rank}`;

/** Links a feature to its dream run as soon as the run exists (a resume continues that run). */
export function setFeatureRun(db: Db, sweepId: number, rank: number, runId: number): void {
  db.prepare('UPDATE sweep_features SET run_id = ? WHERE sweep_id = ? AND rank = ?').run(
    runId,
    sweepId,
    rank,
  );
}

/** Marks a feature's dream done (a resume goes on with its attribution, not with more iterations). */
export function markDreamt(db: Db, sweepId: number, rank: number): void {
  db.prepare(`UPDATE sweep_features SET status = 'dreamt' WHERE sweep_id = ? AND rank = ?`).run(
    sweepId,
    rank,
  );
}

/**
 * Finishes a feature, in one transaction with its attribution's row (`saveAttribution`, which returns its
 * id): either both are kept or neither.
 */
export function finishFeature(
  db: Db,
  sweepId: number,
  rank: number,
  result: SweepFeatureResult,
  seconds: number,
  saveAttribution: () => number | null,
): void {
  db.transaction(() => {
    const attributionId = saveAttribution();
    db.prepare(
      `UPDATE sweep_features SET status = 'finished', result = ?, attribution_id = ?, error = NULL, seconds = ?
       WHERE sweep_id = ? AND rank = ?`,
    ).run(JSON.stringify(result), attributionId, seconds, sweepId, rank);
  }).immediate();
}

/** Records the worker that holds a feature's job (on a queue). */
export function setFeatureWorker(db: Db, sweepId: number, rank: number, worker: string | null): void {
  db.prepare('UPDATE sweep_features SET worker = ? WHERE sweep_id = ? AND rank = ?').run(
    worker,
    sweepId,
    rank,
  );
}

/** A feature's job as it came back from a queue's worker: its whole run, its result and its attribution. */
export interface RemoteFeature {
  run: { summary: RunSummary; history: Iterable<IterationRecord>; checkpoint: Checkpoint };
  result: SweepFeatureResult;
  seconds: number;
  worker: string;
}

/**
 * Finishes a feature whose job ran elsewhere: its run is added to the store (replacing a run of its name cut
 * short here before), then its attribution and result, all in one transaction.
 */
export function importFeature(
  db: Db,
  sweepId: number,
  rank: number,
  remote: RemoteFeature,
  saveAttribution: (runId: number) => number | null,
): void {
  db.transaction(() => {
    const name = featureRunName(sweepId, rank);
    db.prepare('DELETE FROM runs WHERE name = ?').run(name);
    const runId = importRun(db, remote.run, name);
    const attributionId = saveAttribution(runId);
    db.prepare(
      `UPDATE sweep_features SET status = 'finished', run_id = ?, result = ?, attribution_id = ?, error = NULL,
         seconds = ?, worker = ? WHERE sweep_id = ? AND rank = ?`,
    ).run(runId, JSON.stringify(remote.result), attributionId, remote.seconds, remote.worker, sweepId, rank);
  }).immediate();
}

/** Marks a feature failed with its error (a resume tries it again). */
export function failFeature(db: Db, sweepId: number, rank: number, error: string): void {
  db.prepare(`UPDATE sweep_features SET status = 'failed', error = ? WHERE sweep_id = ? AND rank = ?`).run(
    error,
    sweepId,
    rank,
  );
}

/** A name for a new sweep: free, and not a number (numbers are ids). */
export function checkSweepName(db: Db, name: string): void {
  if (!/^[\w.:@+-][\w .:@+-]*$/.test(name) || /^\d+$/.test(name))
    throw new StoreError(
      `sweep name "${name}" must be letters, digits and . _ : @ + - (not a number alone: numbers are ids)`,
    );
  const taken = db.prepare('SELECT id FROM sweeps WHERE name = ?').get(name) as { id: number } | undefined;
  if (taken)
    throw new StoreError(
      `a sweep named "${name}" exists (sweep ${taken.id}): go on with --resume ${name}, or choose another --name`,
    );
}

/**
 * The sweep as the process running it holds it: created (`create`) or claimed again (`claim`, a
 * SweepBusyError while a live process has it); `release()` gives it up, whatever happened.
 */
export class SweepHandle {
  private readonly ownerJson = JSON.stringify(newOwner());
  private readonly started = performance.now();
  private secondsBefore = 0;

  private constructor(
    private readonly db: Db,
    readonly id: number,
  ) {}

  /** A new sweep of `targets` (the set's single-feature specs, in order), owned by this process. */
  static create(db: Db, spec: SweepSpec, targets: readonly string[], name?: string): SweepHandle {
    if (name !== undefined) checkSweepName(db, name);
    if (targets.length === 0) throw new StoreError('a sweep needs at least one feature');
    const handle = new SweepHandle(db, 0);
    const id = db
      .transaction(() => {
        const sweepId = Number(
          db
            .prepare(
              `INSERT INTO sweeps (name, model_id, target, request, status, created_at, updated_at, owner)
               VALUES (?, ?, ?, ?, 'running', ?, ?, ?)`,
            )
            .run(
              name ?? null,
              modelRow(db, spec.model),
              spec.target,
              JSON.stringify(spec),
              now(),
              now(),
              handle.ownerJson,
            ).lastInsertRowid,
        );
        const insert = db.prepare(
          `INSERT INTO sweep_features (sweep_id, rank, target, status) VALUES (?, ?, ?, 'pending')`,
        );
        targets.forEach((target, rank) => insert.run(sweepId, rank, target));
        return sweepId;
      })
      .immediate();
    return Object.assign(handle, { id });
  }

  /** Claims a stored sweep for this process, to go on with it. */
  static claim(db: Db, ref: string | number): SweepHandle {
    return db
      .transaction(() => {
        const row = findSweep(db, ref);
        if (row.writer)
          throw new SweepBusyError(
            `${label(row)} is being run by process ${row.writer.pid} on ${row.writer.host}: wait for it to end, or stop it`,
          );
        const handle = new SweepHandle(db, row.id);
        handle.secondsBefore = row.seconds;
        db.prepare(`UPDATE sweeps SET owner = ?, status = 'running', updated_at = ? WHERE id = ?`).run(
          handle.ownerJson,
          now(),
          row.id,
        );
        return handle;
      })
      .immediate();
  }

  get row(): SweepRow {
    return findSweep(this.db, this.id);
  }

  /** Records the sweep's multi-feature scan (`save` stores it and returns its id), in one transaction. */
  attachScan(save: () => number): number {
    return this.db
      .transaction(() => {
        const scanId = save();
        this.owned('UPDATE sweeps SET feature_scan_id = ?, updated_at = ?', scanId, now());
        return scanId;
      })
      .immediate();
  }

  /** Records the queue the sweep's jobs go to (its URL masked). */
  setQueue(queue: SweepQueue | null): void {
    this.owned('UPDATE sweeps SET queue = ?', queue === null ? null : JSON.stringify(queue));
  }

  /** Brings the sweep's seconds and update time up to date (the live writer's heartbeat). */
  touch(): void {
    this.owned('UPDATE sweeps SET seconds = ?, updated_at = ?', this.seconds(), now());
  }

  /** Ends this call: finished when every feature is, else stopped (a resume goes on). */
  end(): SweepRow {
    const { finished, features } = this.row;
    this.owned(
      'UPDATE sweeps SET status = ?, seconds = ?, owner = NULL, updated_at = ?',
      finished === features ? 'finished' : 'stopped',
      this.seconds(),
      now(),
    );
    return this.row;
  }

  /** Gives the sweep up if this process still owns it (after an error: it stays resumable, as stopped). */
  release(): void {
    this.db
      .prepare(`UPDATE sweeps SET owner = NULL, status = 'stopped', seconds = ? WHERE id = ? AND owner = ?`)
      .run(this.seconds(), this.id, this.ownerJson);
  }

  private seconds(): number {
    return this.secondsBefore + (performance.now() - this.started) / 1000;
  }

  private owned(sql: string, ...values: unknown[]): void {
    const changed = this.db
      .prepare(`${sql} WHERE id = ? AND owner = ?`)
      .run(...values, this.id, this.ownerJson).changes;
    if (changed === 0)
      throw new SweepBusyError(
        `sweep ${this.id} in ${this.db.name} is no longer this process's: another took it over`,
      );
  }
}

/** Deletes a sweep with its scan, features, their dream runs and attributions; a sweep being run is a SweepBusyError. */
export function removeSweep(db: Db, ref: string | number): SweepRow {
  const row = findSweep(db, ref);
  if (row.writer)
    throw new SweepBusyError(
      `${label(row)} is being run by process ${row.writer.pid} on ${row.writer.host}: wait for it to end, or stop it`,
    );
  db.transaction(() => {
    const features = sweepFeatures(db, row.id);
    db.prepare('DELETE FROM sweeps WHERE id = ?').run(row.id);
    if (row.featureScanId !== null)
      db.prepare('DELETE FROM feature_scans WHERE id = ?').run(row.featureScanId);
    for (const f of features) {
      if (f.attributionId !== null) db.prepare('DELETE FROM attributions WHERE id = ?').run(f.attributionId);
      if (f.runId !== null) db.prepare('DELETE FROM runs WHERE id = ?').run(f.runId);
    }
  }).immediate();
  return row;
}

/** The ids of every run that is a sweep's dream (`reverie ls` counts them with their sweep). */
export function sweepRunIds(db: Db): Set<number> {
  const rows = db.prepare('SELECT run_id FROM sweep_features WHERE run_id IS NOT NULL').all() as {
    run_id: number;
  }[];
  return new Set(rows.map((r) => r.run_id));
}
