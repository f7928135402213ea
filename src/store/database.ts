/**
 * The store: one SQLite database (better-sqlite3) holding models, dream runs with every iteration and the
 * latest checkpoint, scans with their examples, and attributions. WAL journal, foreign keys on, the schema's
 * version in `user_version`, migrated forward on open.
 */
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import Database from 'better-sqlite3';
import { StoreError } from './errors.ts';

export type Db = Database.Database;

/** The store a command uses: `--store PATH`, else $REVERIE_STORE, else ./reverie.db. */
export function storePath(given?: string): string {
  return resolve(given ?? process.env.REVERIE_STORE ?? 'reverie.db');
}

/** Schema migrations; migration i brings user_version from i to i + 1. */
const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE models (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    UNIQUE (name, sha256)
  );
  CREATE TABLE runs (
    id INTEGER PRIMARY KEY,
    name TEXT UNIQUE,
    model_id INTEGER NOT NULL REFERENCES models (id),
    target TEXT NOT NULL,
    header TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('running', 'stopped', 'finished')),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    iterations INTEGER NOT NULL DEFAULT 0,
    evaluations INTEGER NOT NULL DEFAULT 0,
    seconds REAL NOT NULL DEFAULT 0,
    best_target REAL,
    summary TEXT,
    owner TEXT
  );
  CREATE TABLE iterations (
    run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    iter INTEGER NOT NULL,
    seconds REAL NOT NULL,
    evaluated INTEGER NOT NULL,
    dropped INTEGER NOT NULL,
    restart_penalty REAL,
    keep TEXT NOT NULL,
    rng TEXT NOT NULL,
    candidates BLOB NOT NULL,
    PRIMARY KEY (run_id, iter)
  ) WITHOUT ROWID;
  CREATE TABLE checkpoints (
    run_id INTEGER PRIMARY KEY REFERENCES runs (id) ON DELETE CASCADE,
    iter INTEGER NOT NULL,
    state TEXT NOT NULL,
    population BLOB NOT NULL
  );
  CREATE TABLE scans (
    id INTEGER PRIMARY KEY,
    name TEXT UNIQUE,
    model_id INTEGER NOT NULL REFERENCES models (id),
    target TEXT NOT NULL,
    created_at TEXT NOT NULL,
    meta TEXT NOT NULL
  );
  CREATE TABLE scan_examples (
    scan_id INTEGER NOT NULL REFERENCES scans (id) ON DELETE CASCADE,
    rank INTEGER NOT NULL,
    example TEXT NOT NULL,
    activation REAL NOT NULL,
    xent REAL NOT NULL,
    PRIMARY KEY (scan_id, rank)
  ) WITHOUT ROWID;
  CREATE TABLE attributions (
    id INTEGER PRIMARY KEY,
    model_id INTEGER NOT NULL REFERENCES models (id),
    run_id INTEGER REFERENCES runs (id) ON DELETE SET NULL,
    target TEXT NOT NULL,
    created_at TEXT NOT NULL,
    result TEXT NOT NULL
  );
  `,
  // 2: multi-feature scans (one pass over a corpus, every feature of a set) and sweeps (a dream per feature).
  `
  CREATE TABLE feature_scans (
    id INTEGER PRIMARY KEY,
    model_id INTEGER NOT NULL REFERENCES models (id),
    target TEXT NOT NULL,
    created_at TEXT NOT NULL,
    meta TEXT NOT NULL
  );
  CREATE TABLE feature_scan_features (
    feature_scan_id INTEGER NOT NULL REFERENCES feature_scans (id) ON DELETE CASCADE,
    rank INTEGER NOT NULL,
    target TEXT NOT NULL,
    top_activation REAL,
    stats TEXT NOT NULL,
    examples TEXT NOT NULL,
    PRIMARY KEY (feature_scan_id, rank)
  ) WITHOUT ROWID;
  CREATE TABLE sweeps (
    id INTEGER PRIMARY KEY,
    name TEXT UNIQUE,
    model_id INTEGER NOT NULL REFERENCES models (id),
    target TEXT NOT NULL,
    request TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('running', 'stopped', 'finished')),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    feature_scan_id INTEGER REFERENCES feature_scans (id) ON DELETE SET NULL,
    seconds REAL NOT NULL DEFAULT 0,
    owner TEXT
  );
  CREATE TABLE sweep_features (
    sweep_id INTEGER NOT NULL REFERENCES sweeps (id) ON DELETE CASCADE,
    rank INTEGER NOT NULL,
    target TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'dreamt', 'finished', 'failed')),
    run_id INTEGER REFERENCES runs (id) ON DELETE SET NULL,
    attribution_id INTEGER REFERENCES attributions (id) ON DELETE SET NULL,
    result TEXT,
    error TEXT,
    seconds REAL,
    PRIMARY KEY (sweep_id, rank)
  ) WITHOUT ROWID;
  `,
  // 3: sweeps run through a job queue (BullMQ on Redis): the queue's masked URL and key, and per feature the
  // worker holding (or that held) its job.
  `
  ALTER TABLE sweeps ADD COLUMN queue TEXT;
  ALTER TABLE sweep_features ADD COLUMN worker TEXT;
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/**
 * Opens (and with `create`, creates) the store at `path`, migrated to this version of the schema.
 * A file that is not a SQLite database, or a store from a newer reverie, is a StoreError naming it.
 */
export function openStore(path: string, { create = true, readonly = false } = {}): Db {
  if (existsSync(path) && statSync(path).isDirectory())
    throw new StoreError(`${path} is a directory, expected a reverie store (an SQLite file)`);
  if (!create && !existsSync(path))
    throw new StoreError(`${path} does not exist: no reverie store there (--store PATH or $REVERIE_STORE)`);
  let db: Db;
  try {
    db = new Database(path, { readonly, fileMustExist: !create });
    db.pragma('busy_timeout = 5000');
    if (!readonly) db.pragma('journal_mode = WAL');
    db.pragma('foreign_keys = ON');
    migrate(db, path, readonly);
  } catch (error) {
    if (error instanceof StoreError) throw error;
    throw new StoreError(`${path} is not a usable reverie store: ${(error as Error).message}`);
  }
  return db;
}

function migrate(db: Db, path: string, readonly: boolean): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > SCHEMA_VERSION)
    throw new StoreError(
      `${path} has schema version ${version}, this reverie knows up to ${SCHEMA_VERSION}: upgrade reverie`,
    );
  if (version === SCHEMA_VERSION) return;
  if (readonly)
    throw new StoreError(`${path} has schema version ${version}, needs migrating to ${SCHEMA_VERSION}`);
  if (version === 0) {
    const tables = db.prepare(`SELECT count(*) AS n FROM sqlite_master WHERE type = 'table'`).get() as {
      n: number;
    };
    if (tables.n > 0) throw new StoreError(`${path} is an SQLite database, but not a reverie store`);
  }
  db.transaction(() => {
    for (let v = version; v < SCHEMA_VERSION; v++) db.exec(MIGRATIONS[v] as string);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
  }).immediate();
}

/** The model's row id, added on first use. */
export function modelRow(db: Db, model: { id: string; sha256: string }): number {
  db.prepare('INSERT OR IGNORE INTO models (name, sha256) VALUES (?, ?)').run(model.id, model.sha256);
  return (
    db.prepare('SELECT id FROM models WHERE name = ? AND sha256 = ?').get(model.id, model.sha256) as {
      id: number;
    }
  ).id;
}

export const now = (): string => new Date().toISOString();
