/** Sweeps in the store: one owner, features finished atomically with their attribution, counts, removal. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { openStore, SCHEMA_VERSION } from '../../src/store/database.ts';
import { StoreError } from '../../src/store/errors.ts';
import {
  finishFeature,
  findSweep,
  listSweeps,
  removeSweep,
  setFeatureRun,
  SweepBusyError,
  sweepFeatures,
  SweepHandle,
  sweepRunIds,
  type SweepFeatureResult,
  type SweepSpec,
} from '../../src/store/sweeps.ts';

const dir = mkdtempSync(join(tmpdir(), 'reverie-sweeps-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const SPEC: SweepSpec = {
  model: { id: 'test-model', sha256: 'ab'.repeat(32) },
  target: 'blocks.0.mlp.hook_post[0:3]',
  corpus: ['/corpus.txt'],
  top: 8,
  options: { iters: 5 },
  attributionK: 4,
};
const TARGETS = [0, 1, 2].map((i) => `blocks.0.mlp.hook_post[${i}]`);

const result = (win: boolean): SweepFeatureResult => ({
  topExample: { ids: [1, 2], text: 'a b', activation: 1, xent: 3 },
  medianXent: 3.5,
  bestDream: { ids: [3, 4], text: 'c d', activation: win ? 2 : 0.5, xent: 3.2 },
  margin: win ? 1 : -0.5,
  win,
  iterations: 5,
  seconds: 0.1,
});

let n = 0;
const fresh = () => openStore(join(dir, `s${n++}.db`));

describe('sweeps in the store', () => {
  it('is created with its features pending, owned by this process until released', () => {
    const db = fresh();
    const handle = SweepHandle.create(db, SPEC, TARGETS, 'layer0');
    const row = findSweep(db, 'layer0');
    expect(row).toMatchObject({ id: handle.id, status: 'running', features: 3, finished: 0, wins: 0 });
    expect(row.spec).toEqual(SPEC);
    expect(row.writer?.pid).toBe(process.pid);
    expect(sweepFeatures(db, handle.id).map((f) => [f.rank, f.target, f.status])).toEqual(
      TARGETS.map((t, i) => [i, t, 'pending']),
    );
    expect(() => SweepHandle.claim(db, handle.id)).toThrow(SweepBusyError);
    expect(() => SweepHandle.create(db, SPEC, TARGETS, 'layer0')).toThrow(StoreError);
    expect(() => SweepHandle.create(db, SPEC, TARGETS, '42')).toThrow(/not a number alone/);
    handle.release();
    expect(findSweep(db, handle.id).status).toBe('stopped');
    const again = SweepHandle.claim(db, 'layer0');
    expect(findSweep(db, handle.id).status).toBe('running');
    again.release();
    db.close();
  });

  it('finishes a feature and its attribution in one transaction, and counts wins', () => {
    const db = fresh();
    const handle = SweepHandle.create(db, SPEC, TARGETS);
    expect(() =>
      finishFeature(db, handle.id, 0, result(true), 1, () => {
        db.prepare(
          `INSERT INTO attributions (model_id, target, created_at, result) VALUES (1, 't', 'now', '{}')`,
        ).run();
        throw new Error('killed mid-write');
      }),
    ).toThrow('killed mid-write');
    expect(db.prepare('SELECT count(*) AS n FROM attributions').get()).toEqual({ n: 0 });
    expect(sweepFeatures(db, handle.id)[0]?.status).toBe('pending');

    finishFeature(db, handle.id, 0, result(true), 1.5, () => null);
    finishFeature(db, handle.id, 2, result(false), 2, () => null);
    const row = findSweep(db, handle.id);
    expect(row).toMatchObject({ finished: 2, wins: 1, failed: 0 });
    expect(sweepFeatures(db, handle.id)[0]).toMatchObject({
      status: 'finished',
      seconds: 1.5,
      result: result(true),
    });
    expect(handle.end().status).toBe('stopped'); // one feature left
    expect(listSweeps(db).map((s) => s.id)).toEqual([handle.id]);
    db.close();
  });

  it('is removed with its scan, runs and attributions', () => {
    const db = fresh();
    const handle = SweepHandle.create(db, SPEC, TARGETS);
    const model = (db.prepare('SELECT id FROM models').get() as { id: number }).id;
    const runId = Number(
      db
        .prepare(
          `INSERT INTO runs (model_id, target, header, status, created_at, updated_at) VALUES (?, 't', '{}', 'finished', 'now', 'now')`,
        )
        .run(model).lastInsertRowid,
    );
    setFeatureRun(db, handle.id, 1, runId);
    handle.attachScan(() =>
      Number(
        db
          .prepare(
            `INSERT INTO feature_scans (model_id, target, created_at, meta) VALUES (?, 't', 'now', '{}')`,
          )
          .run(model).lastInsertRowid,
      ),
    );
    expect(sweepRunIds(db)).toEqual(new Set([runId]));
    expect(() => removeSweep(db, handle.id)).toThrow(SweepBusyError);
    handle.release();
    expect(removeSweep(db, handle.id).features).toBe(3);
    for (const table of ['sweeps', 'sweep_features', 'runs', 'feature_scans'])
      expect(db.prepare(`SELECT count(*) AS n FROM ${table}`).get()).toEqual({ n: 0 });
    db.close();
  });

  it('migrates a store of schema 1 (before sweeps) in place, its runs kept', () => {
    const path = join(dir, 'v1.db');
    openStore(path).close();
    const raw = new Database(path);
    raw.exec(
      'DROP TABLE sweep_features; DROP TABLE sweeps; DROP TABLE feature_scan_features; DROP TABLE feature_scans;',
    );
    raw.exec(`INSERT INTO models (name, sha256) VALUES ('m', 'x')`);
    raw.pragma('user_version = 1');
    raw.close();
    const db = openStore(path);
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect(db.prepare('SELECT name FROM models').all()).toEqual([{ name: 'm' }]);
    expect(listSweeps(db)).toEqual([]);
    db.close();
  });
});
