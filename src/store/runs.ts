/**
 * Dream runs in the store. A run's row is created with its first checkpoint, and each iteration is then one
 * transaction (its candidates, the checkpoint after it, the run's totals), so a process killed at any moment
 * loses at most the iteration in flight. One process writes a run at a time: it owns the run (`owner`:
 * host, pid and a token) until it ends; a run whose owner has died may be claimed again.
 */
import type { IterationRecord } from '../dream/epo.ts';
import { nondominatedFrontier, uniquePrompts } from '../dream/frontier.ts';
import type { Checkpoint, FrontierPoint, RunHeader, RunSummary } from '../dream/records.ts';
import type { RunSink, StoredRun } from '../dream/run.ts';
import { decodeCandidates, decodePopulation, encodeCandidates, encodePopulation } from './codec.ts';
import { modelRow, now, type Db } from './database.ts';
import { CorruptStoreError, parseStoredJson, RunBusyError, RunNotFoundError, StoreError } from './errors.ts';
import { newOwner, writerOf } from './owner.ts';

/** As stored; a `running` run whose process is gone reads as `interrupted` (killed: resume it to go on). */
export type RunStatus = 'running' | 'stopped' | 'finished' | 'interrupted';

/** A run as `reverie ls` lists it. */
export interface RunRow {
  id: number;
  name: string | null;
  model: { id: string; sha256: string };
  target: string;
  status: RunStatus;
  createdAt: string;
  updatedAt: string;
  iterations: number;
  evaluations: number;
  seconds: number;
  bestTarget: number | null;
  /** The live process writing it, if any. */
  writer: { host: string; pid: number } | null;
}

interface RawRun {
  id: number;
  name: string | null;
  model_name: string;
  sha256: string;
  target: string;
  header: string;
  status: RunStatus;
  created_at: string;
  updated_at: string;
  iterations: number;
  evaluations: number;
  seconds: number;
  best_target: number | null;
  summary: string | null;
  owner: string | null;
}

const SELECT_RUN = `SELECT runs.*, models.name AS model_name, models.sha256 FROM runs
  JOIN models ON models.id = runs.model_id`;

function rowOf(raw: RawRun): RunRow {
  const writer = writerOf(raw.owner, raw.updated_at, `run ${raw.id}`);
  return {
    id: raw.id,
    name: raw.name,
    model: { id: raw.model_name, sha256: raw.sha256 },
    target: raw.target,
    status: raw.status === 'running' && !writer ? 'interrupted' : raw.status,
    createdAt: raw.created_at,
    updatedAt: raw.updated_at,
    iterations: raw.iterations,
    evaluations: raw.evaluations,
    seconds: raw.seconds,
    bestTarget: raw.best_target,
    writer,
  };
}

const label = (raw: { id: number; name: string | null }): string =>
  raw.name === null ? `run ${raw.id}` : `run ${raw.id} (${raw.name})`;

function rawRun(db: Db, ref: string | number): RawRun {
  const byId = typeof ref === 'number' || /^\d+$/.test(ref);
  const raw = (
    byId
      ? db.prepare(`${SELECT_RUN} WHERE runs.id = ?`).get(Number(ref))
      : db.prepare(`${SELECT_RUN} WHERE runs.name = ?`).get(ref)
  ) as RawRun | undefined;
  if (!raw)
    throw new RunNotFoundError(
      `no run ${byId ? `with id ${ref}` : `named "${ref}"`} in ${db.name} (reverie ls lists them)`,
    );
  return raw;
}

/** The run with this id or name. */
export function findRun(db: Db, ref: string | number): RunRow {
  return rowOf(rawRun(db, ref));
}

/** Every run, newest first. */
export function listRuns(db: Db): RunRow[] {
  return (db.prepare(`${SELECT_RUN} ORDER BY runs.id DESC`).all() as RawRun[]).map(rowOf);
}

/** A name for a new run: free, and not a number (numbers are ids). */
export function checkRunName(db: Db, name: string): void {
  if (!/^[\w.:@+-][\w .:@+-]*$/.test(name) || /^\d+$/.test(name))
    throw new StoreError(
      `run name "${name}" must be letters, digits and . _ : @ + - (not a number alone: numbers are ids)`,
    );
  const taken = db.prepare('SELECT id FROM runs WHERE name = ?').get(name) as { id: number } | undefined;
  if (taken)
    throw new StoreError(
      `a run named "${name}" exists (run ${taken.id}): go on with --resume ${name}, or choose another --name`,
    );
}

/** The header, latest checkpoint and iterations of a stored run: what `resumeDream` continues from. */
export function storedRun(db: Db, ref: string | number): StoredRun & { row: RunRow } {
  const raw = rawRun(db, ref);
  const checkpoint = readCheckpoint(db, raw);
  if (!checkpoint) throw new CorruptStoreError(`${label(raw)} in ${db.name} has no checkpoint`);
  return {
    row: rowOf(raw),
    header: parseStoredJson<RunHeader>(raw.header, `${label(raw)}'s header`),
    checkpoint,
    history: { [Symbol.iterator]: () => runHistory(db, raw.id) },
  };
}

function readCheckpoint(db: Db, raw: RawRun): Checkpoint | undefined {
  const row = db.prepare('SELECT state, population FROM checkpoints WHERE run_id = ?').get(raw.id) as
    { state: string; population: Buffer } | undefined;
  if (!row) return undefined;
  const state = parseStoredJson<Omit<Checkpoint, 'population'>>(row.state, `${label(raw)}'s checkpoint`);
  return { ...state, population: decodePopulation(row.population, `${label(raw)}'s checkpoint`) };
}

interface RawIteration {
  iter: number;
  seconds: number;
  evaluated: number;
  dropped: number;
  restart_penalty: number | null;
  keep: string;
  rng: string;
  candidates: Buffer;
}

/** A run's iterations, in order, read as they are iterated. */
export function* runHistory(db: Db, id: number): Generator<IterationRecord> {
  const rows = db
    .prepare('SELECT * FROM iterations WHERE run_id = ? ORDER BY iter')
    .iterate(id) as IterableIterator<RawIteration>;
  for (const r of rows) {
    const what = `run ${id}'s iteration ${r.iter}`;
    yield {
      iter: r.iter,
      candidates: decodeCandidates(r.candidates, what),
      keep: parseStoredJson<number[]>(r.keep, what),
      seconds: r.seconds,
      rng: parseStoredJson<number[]>(r.rng, what),
      evaluated: r.evaluated,
      dropped: r.dropped,
      ...(r.restart_penalty !== null && { restartPenalty: r.restart_penalty }),
    };
  }
}

/** A run's summary as its last call ended it; undefined for a run cut short (killed) or still running. */
export function storedSummary(db: Db, ref: string | number): RunSummary | undefined {
  const raw = rawRun(db, ref);
  const stored =
    raw.summary === null ? undefined : parseStoredJson<RunSummary>(raw.summary, `${label(raw)}'s summary`);
  return stored?.iterations === raw.iterations ? stored : undefined;
}

/** A run's summary rebuilt from its checkpoint and iterations, with prompt texts from `decode`. */
export function rebuiltSummary(db: Db, ref: string | number, decode: (ids: number[]) => string): RunSummary {
  const raw = rawRun(db, ref);
  const header = parseStoredJson<RunHeader>(raw.header, `${label(raw)}'s header`);
  const checkpoint = readCheckpoint(db, raw);
  if (!checkpoint) throw new CorruptStoreError(`${label(raw)} in ${db.name} has no checkpoint`);
  const point = (c: { ids: number[]; target: number; xent: number }): FrontierPoint => ({
    ids: c.ids,
    target: c.target,
    xent: c.xent,
    text: decode(c.ids),
  });
  const candidates = [...runHistory(db, raw.id)].flatMap((r) => r.candidates);
  return {
    ...header,
    iterations: checkpoint.iter,
    seconds: checkpoint.seconds,
    evaluations: checkpoint.evaluations,
    dropped: checkpoint.dropped,
    population: checkpoint.population.map((m) => ({ ...point(m), penalty: m.penalty })),
    frontier: nondominatedFrontier(uniquePrompts([...candidates, ...checkpoint.population])).map(point),
  };
}

/** Deletes a run and everything stored with it; a run being written is a RunBusyError. */
export function removeRun(db: Db, ref: string | number): RunRow {
  const row = findRun(db, ref);
  if (row.writer) throw busy(row);
  db.prepare('DELETE FROM runs WHERE id = ?').run(row.id);
  return row;
}

const busy = (row: RunRow): RunBusyError =>
  new RunBusyError(
    `${label(row)} is being written by process ${row.writer?.pid} on ${row.writer?.host}: wait for it to end, or stop it`,
  );

/**
 * Where a run's results go: the store. A new run's row is created with its first checkpoint (`begin`);
 * resuming, the run is claimed first (`StoreSink.resume`). `release()` gives the run up, whatever happened.
 */
export class StoreSink implements RunSink {
  private readonly ownerJson = JSON.stringify(newOwner());

  private constructor(
    private readonly db: Db,
    private runId: number | undefined,
    private readonly name: string | undefined,
    private readonly onCreated?: (id: number) => void,
  ) {}

  /** A sink for a new run; `onCreated` hears its id once its row exists. */
  static create(db: Db, options: { name?: string; onCreated?: (id: number) => void } = {}): StoreSink {
    if (options.name !== undefined) checkRunName(db, options.name);
    return new StoreSink(db, undefined, options.name, options.onCreated);
  }

  /** A sink that goes on writing a stored run, claimed for this process (RunBusyError if a live one has it). */
  static resume(db: Db, ref: string | number): StoreSink {
    const sink = new StoreSink(db, undefined, undefined);
    db.transaction(() => {
      const row = findRun(db, ref);
      if (row.writer) throw busy(row);
      db.prepare(`UPDATE runs SET owner = ?, status = 'running', updated_at = ? WHERE id = ?`).run(
        sink.ownerJson,
        now(),
        row.id,
      );
      sink.runId = row.id;
    }).immediate();
    return sink;
  }

  get id(): number | undefined {
    return this.runId;
  }

  begin(header: RunHeader, start: Checkpoint): void {
    const created = this.runId === undefined;
    this.db
      .transaction(() => {
        if (this.runId === undefined) {
          const info = this.db
            .prepare(
              `INSERT INTO runs (name, model_id, target, header, status, created_at, updated_at, owner)
               VALUES (?, ?, ?, ?, 'running', ?, ?, ?)`,
            )
            .run(
              this.name ?? null,
              modelRow(this.db, header.model),
              header.target,
              JSON.stringify(header),
              now(),
              now(),
              this.ownerJson,
            );
          this.runId = Number(info.lastInsertRowid);
        } else
          this.owned(
            `UPDATE runs SET header = ?, updated_at = ? WHERE id = ? AND owner = ?`,
            JSON.stringify(header),
            now(),
          );
        writeCheckpoint(this.db, this.runId as number, start);
      })
      .immediate();
    if (created) this.onCreated?.(this.runId as number);
  }

  iteration(record: IterationRecord, after: Checkpoint): void {
    const best = Math.max(...record.candidates.map((c) => c.target));
    this.db
      .transaction(() => {
        this.owned(
          `UPDATE runs SET iterations = ?, evaluations = ?, seconds = ?, updated_at = ?,
             best_target = max(coalesce(best_target, ?), ?) WHERE id = ? AND owner = ?`,
          after.iter,
          after.evaluations,
          after.seconds,
          now(),
          best,
          best,
        );
        insertIteration(this.db, this.runId as number, record);
        writeCheckpoint(this.db, this.runId as number, after);
      })
      .immediate();
  }

  end(summary: RunSummary): void {
    const status: RunStatus = summary.iterations >= summary.options.iters ? 'finished' : 'stopped';
    this.owned(
      `UPDATE runs SET summary = ?, status = ?, owner = NULL, updated_at = ? WHERE id = ? AND owner = ?`,
      JSON.stringify(summary),
      status,
      now(),
    );
  }

  /** Gives the run up if this process still owns it (after an error: it stays resumable, as stopped). */
  release(): void {
    if (this.runId === undefined) return;
    this.db
      .prepare(`UPDATE runs SET owner = NULL, status = 'stopped' WHERE id = ? AND owner = ?`)
      .run(this.runId, this.ownerJson);
  }

  /** Runs an update of this run that holds only while this process owns it (ids and owner come last). */
  private owned(sql: string, ...values: unknown[]): void {
    const changed = this.db.prepare(sql).run(...values, this.runId, this.ownerJson).changes;
    if (changed === 0)
      throw new RunBusyError(
        `run ${this.runId} in ${this.db.name} is no longer this process's: another took it over`,
      );
  }
}

function insertIteration(db: Db, runId: number, r: IterationRecord): void {
  db.prepare(
    `INSERT INTO iterations (run_id, iter, seconds, evaluated, dropped, restart_penalty, keep, rng, candidates)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  ).run(
    runId,
    r.iter,
    r.seconds,
    r.evaluated,
    r.dropped,
    r.restartPenalty ?? null,
    JSON.stringify(r.keep),
    JSON.stringify(r.rng),
    encodeCandidates(r.candidates),
  );
}

function writeCheckpoint(db: Db, runId: number, c: Checkpoint): void {
  const { population, ...state } = c;
  db.prepare(
    `INSERT INTO checkpoints (run_id, iter, state, population) VALUES (?, ?, ?, ?)
     ON CONFLICT (run_id) DO UPDATE SET iter = excluded.iter, state = excluded.state,
       population = excluded.population`,
  ).run(runId, c.iter, JSON.stringify(state), encodePopulation(population));
}

/** Adds an exported run (files.ts) to the store as a new run, in one transaction; its id. */
export function importRun(
  db: Db,
  run: { summary: RunSummary; history: Iterable<IterationRecord>; checkpoint?: Checkpoint },
  name?: string,
): number {
  if (name !== undefined) checkRunName(db, name);
  const { summary } = run;
  return db
    .transaction(() => {
      const best = summary.frontier.reduce((m, p) => Math.max(m, p.target), -Infinity);
      const id = Number(
        db
          .prepare(
            `INSERT INTO runs (name, model_id, target, header, status, created_at, updated_at, iterations,
               evaluations, seconds, best_target, summary)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          )
          .run(
            name ?? null,
            modelRow(db, summary.model),
            summary.target,
            JSON.stringify(headerOf(summary)),
            summary.iterations >= summary.options.iters ? 'finished' : 'stopped',
            now(),
            now(),
            summary.iterations,
            summary.evaluations,
            summary.seconds,
            Number.isFinite(best) ? best : null,
            JSON.stringify(summary),
          ).lastInsertRowid,
      );
      for (const r of run.history) insertIteration(db, id, r);
      if (run.checkpoint) writeCheckpoint(db, id, run.checkpoint);
      return id;
    })
    .immediate();
}

/** The header part of a summary (what a run is, not what it found). */
export function headerOf(summary: RunSummary): RunHeader {
  const { version, model, target, options, seed, bos, evaluation } = summary;
  return { version, model, target, options, seed, bos, evaluation };
}
