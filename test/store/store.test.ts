import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, readFileSync, appendFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IterationRecord } from '../../src/dream/epo.ts';
import { MemorySink } from '../../src/dream/memory-sink.ts';
import type { EpoOptions } from '../../src/dream/options.ts';
import { dream, resumeDream } from '../../src/dream/run.ts';
import { CorruptFileError } from '../../src/io/errors.ts';
import { loadModel } from '../../src/models/load.ts';
import type { Model } from '../../src/models/model.ts';
import {
  decodeCandidates,
  decodePopulation,
  encodeCandidates,
  encodePopulation,
} from '../../src/store/codec.ts';
import { openStore, SCHEMA_VERSION, type Db } from '../../src/store/database.ts';
import { RunBusyError, StoreError } from '../../src/store/errors.ts';
import { checkExportDir, readRunFolder, writeRunFolder } from '../../src/store/files.ts';
import {
  findRun,
  importRun,
  listRuns,
  rebuiltSummary,
  removeRun,
  runHistory,
  storedRun,
  storedSummary,
  StoreSink,
} from '../../src/store/runs.ts';

const SMALL: Partial<EpoOptions> = {
  preset: 'dreamy',
  iters: 8,
  population: 3,
  childrenPerMember: 8,
  topk: 32,
  threads: 1,
  restartEvery: 3,
  likelyShare: 0.25,
};
const TARGET = 'blocks.3.mlp.hook_post[9]';

let model: Model;
let dir: string;
let stores = 0;
const newStore = (): Db => openStore(join(dir, `store${stores++}.db`));
const untimed = (history: Iterable<IterationRecord>) => [...history].map(({ seconds: _, ...rest }) => rest);
const decode = (ids: number[]) => model.tokenizer!.decode(ids);

/** An uninterrupted run of SMALL, in memory: what the stored runs must equal. */
let whole: MemorySink;

beforeAll(async () => {
  model = await loadModel('karpathy/tinyllamas/stories260K');
  dir = mkdtempSync(join(tmpdir(), 'reverie-store-'));
  whole = new MemorySink();
  await dream({ model, modelSha256: 'test', target: TARGET, options: SMALL, sink: whole });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the codec of stored candidates and populations', () => {
  it('round-trips ids of either width and float64 values bit for bit', () => {
    for (const big of [false, true]) {
      const candidates = [
        { ids: [1, 2, big ? 70000 : 3], target: 0.1 + 0.2, xent: Number.NaN },
        { ids: [4, 5, 6], target: -1e-300, xent: Infinity },
      ];
      expect(decodeCandidates(encodeCandidates(candidates), 'x')).toEqual(candidates);
    }
    const population = [
      { ids: [1, 2], target: 1.5, xent: 2.25, penalty: 0.1, topk: Int32Array.from([1, 2, 3, 4]) },
      { ids: [3, 4], target: 2.5, xent: 3.25, penalty: 10, topk: Int32Array.from([5, 6, 7, 8]) },
    ];
    expect(decodePopulation(encodePopulation(population), 'x')).toEqual(population);
  });

  it('names a truncated blob', () => {
    const blob = encodeCandidates([{ ids: [1, 2], target: 1, xent: 2 }]);
    expect(() => decodeCandidates(blob.subarray(0, blob.length - 3), 'run 1, iteration 2')).toThrow(
      /run 1, iteration 2 is truncated/,
    );
  });
});

describe('opening a store', () => {
  it('creates the schema at its version, in WAL mode with foreign keys', () => {
    const db = newStore();
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    db.close();
  });

  it('refuses what is not a reverie store, naming it', () => {
    const text = join(dir, 'text.db');
    writeFileSync(text, 'not a database at all, just some text that is long enough to be read');
    expect(() => openStore(text)).toThrow(StoreError);
    expect(() => openStore(text)).toThrow(text);
    const other = join(dir, 'other.db');
    new Database(other).exec('CREATE TABLE t (x)');
    expect(() => openStore(other)).toThrow(/an SQLite database, but not a reverie store/);
    const newer = join(dir, 'newer.db');
    new Database(newer).pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    expect(() => openStore(newer)).toThrow(/this reverie knows up to/);
    expect(() => openStore(dir)).toThrow(/is a directory/);
    expect(() => openStore(join(dir, 'absent.db'), { create: false })).toThrow(/does not exist/);
  });
});

describe('a run in the store', () => {
  it('records every iteration and its checkpoint, and a resume continues to the uninterrupted run', async () => {
    const db = newStore();
    const created: number[] = [];
    const first = StoreSink.create(db, { name: 'first', onCreated: (id) => created.push(id) });
    await dream({ model, modelSha256: 'test', target: TARGET, options: { ...SMALL, iters: 5 }, sink: first });
    first.release();
    expect(created).toEqual([1]);
    expect(findRun(db, 'first')).toMatchObject({ id: 1, status: 'finished', iterations: 5, writer: null });
    const stored = storedRun(db, 'first');
    expect(stored.checkpoint.iter).toBe(5);
    const second = StoreSink.resume(db, 1);
    const summary = await resumeDream({ model, modelSha256: 'test', from: stored, sink: second, iters: 3 });
    second.release();
    expect(untimed(runHistory(db, 1))).toEqual(untimed(whole.history));
    expect(summary.population).toEqual(whole.summary!.population);
    expect(summary.frontier).toEqual(whole.summary!.frontier);
    expect(findRun(db, 1)).toMatchObject({ status: 'finished', iterations: 8 });
    expect(storedSummary(db, 1)).toEqual(summary);
    db.close();
  });

  it('goes on to the uninterrupted run when resumed every few iterations', async () => {
    // A member's own values (gradient program) and its values as a child (fitness) may differ in the last
    // bit: a resume must go on with the ones the run used.
    const options = { iters: 0, population: 3, childrenPerMember: 8, topk: 32, threads: 1 };
    const target = 'blocks.4.mlp.hook_post[0]';
    const full = new MemorySink();
    await dream({ model, target, options: { ...options, iters: 30 }, sink: full });
    const db = newStore();
    await dream({ model, target, options, sink: StoreSink.create(db) });
    while (findRun(db, 1).iterations < 30) {
      const sink = StoreSink.resume(db, 1);
      await resumeDream({ model, from: storedRun(db, 1), sink, iters: 5 });
      sink.release();
    }
    expect(untimed(runHistory(db, 1))).toEqual(untimed(full.history));
    db.close();
  });

  it('rebuilds the summary of a run cut short from its checkpoint and iterations', async () => {
    const db = newStore();
    const sink = StoreSink.create(db);
    await dream({ model, modelSha256: 'test', target: TARGET, options: SMALL, sink });
    db.prepare('UPDATE runs SET summary = NULL').run(); // as if killed before its end
    expect(storedSummary(db, 1)).toBeUndefined();
    const rebuilt = rebuiltSummary(db, 1, decode);
    expect(rebuilt.frontier).toEqual(whole.summary!.frontier);
    expect(rebuilt.population).toEqual(whole.summary!.population);
    db.close();
  });

  it('has one writer: a live owner makes a resume a RunBusyError, a dead one lets it go on', async () => {
    const db = newStore();
    const sink = StoreSink.create(db, { name: 'owned' });
    await dream({ model, modelSha256: 'test', target: TARGET, options: { ...SMALL, iters: 2 }, sink });
    const own = (pid: number) =>
      db.prepare('UPDATE runs SET owner = ?').run(JSON.stringify({ host: hostname(), pid, token: 't' }));
    own(process.pid); // alive
    expect(() => StoreSink.resume(db, 'owned')).toThrow(RunBusyError);
    expect(() => removeRun(db, 'owned')).toThrow(RunBusyError);
    expect(listRuns(db)[0]!.writer).toEqual({ host: hostname(), pid: process.pid });
    const gone = spawnSync(process.execPath, ['-e', '0']).pid as number; // exited: its pid is free
    own(gone);
    const taker = StoreSink.resume(db, 'owned');
    // The process that lost the run can write no more of it.
    own(process.pid);
    expect(() => taker.end(whole.summary!)).toThrow(/no longer this process's/);
    db.close();
  });

  it('refuses a second run of the same name, and a name that is a number', () => {
    const db = newStore();
    db.prepare("INSERT INTO models (name, sha256) VALUES ('m', 's')").run();
    db.prepare(
      "INSERT INTO runs (name, model_id, target, header, status, created_at, updated_at) VALUES ('taken', 1, 't', '{}', 'stopped', '', '')",
    ).run();
    expect(() => StoreSink.create(db, { name: 'taken' })).toThrow(/a run named "taken" exists \(run 1\)/);
    expect(() => StoreSink.create(db, { name: '42' })).toThrow(/numbers are ids/);
    db.close();
  });
});

describe('exported runs', () => {
  it('round-trip through export and import, and the imported run goes on like the original', async () => {
    const db = newStore();
    const sink = StoreSink.create(db);
    await dream({ model, modelSha256: 'test', target: TARGET, options: { ...SMALL, iters: 5 }, sink });
    const out = join(dir, 'export');
    const { checkpoint } = storedRun(db, 1);
    writeRunFolder(out, { summary: storedSummary(db, 1)!, history: runHistory(db, 1), checkpoint });
    expect(() => checkExportDir(out, false)).toThrow(/is not empty/);
    expect(Object.keys(JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as object).sort()).toEqual(
      [
        ...['bos', 'dropped', 'evaluation', 'evaluations', 'frontier', 'iterations', 'model', 'options'],
        ...['population', 'seconds', 'seed', 'target', 'version'],
      ].sort(),
    );
    const folder = readRunFolder(out);
    const other = newStore();
    const id = importRun(other, { ...folder, history: [...folder.history()] }, 'imported');
    expect(untimed(runHistory(other, id))).toEqual(untimed(runHistory(db, 1)));
    expect(storedSummary(other, id)).toEqual(storedSummary(db, 1));
    const resumed = StoreSink.resume(other, 'imported');
    await resumeDream({ model, modelSha256: 'test', from: storedRun(other, id), sink: resumed, iters: 3 });
    expect(untimed(runHistory(other, id))).toEqual(untimed(whole.history));
    db.close();
    other.close();
  });

  it('name what is wrong with their files', () => {
    const out = join(dir, 'broken');
    writeRunFolder(out, { summary: whole.summary!, history: whole.history });
    appendFileSync(join(out, 'history.jsonl'), '{"iter": 8, "candi'); // a truncated last line
    expect(() => [...readRunFolder(out).history()]).toThrow(/holds 9 iterations, run.json says 8/);
    const lines = readFileSync(join(out, 'history.jsonl'), 'utf8').split('\n').slice(0, 8);
    lines[3] = lines[3]!.slice(0, 40);
    writeFileSync(join(out, 'history.jsonl'), `${lines.join('\n')}\n`);
    expect(() => [...readRunFolder(out).history()]).toThrow(CorruptFileError);
    expect(() => [...readRunFolder(out).history()]).toThrow(/history.jsonl: line 4 is not valid JSON/);
    writeFileSync(join(out, 'run.json'), '{"version": 2}');
    expect(() => readRunFolder(out)).toThrow(/run.json: expected version to be 1/);
  });
});
