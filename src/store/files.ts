/**
 * The export format of a run, for sharing (the store is where runs live): DIR/run.json (the RunSummary's
 * documented fields), DIR/history.jsonl (one IterationRecord a line) and DIR/checkpoint.json (the state a
 * resume continues from, so that an imported run can go on).
 */
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import type { IterationRecord } from '../dream/epo.ts';
import type { Checkpoint, RunSummary } from '../dream/records.ts';
import { CorruptFileError } from '../io/errors.ts';
import { RunNotFoundError, StoreError } from './errors.ts';

/** A run read from an exported folder. */
export interface RunFolder {
  dir: string;
  summary: RunSummary;
  history(): Generator<IterationRecord>;
  checkpoint?: Checkpoint;
}

/** Throws unless `dir` may receive an export: absent, an empty folder, or (with `force`) any folder. */
export function checkExportDir(dir: string, force: boolean): void {
  if (!existsSync(dir)) return;
  if (!statSync(dir).isDirectory())
    throw new StoreError(`${dir} is a file, expected a folder to export the run to`);
  const entries = readdirSync(dir);
  if (entries.length > 0 && !force)
    throw new StoreError(
      `${dir} is not empty (${entries.slice(0, 3).join(', ')}${entries.length > 3 ? ', …' : ''}): ` +
        'export to a new folder, or pass --force to replace the run files there',
    );
}

const checkpointJson = (c: Checkpoint) => ({
  ...c,
  population: c.population.map(({ topk, likely, ...m }) => ({
    ...m,
    topk: Array.from(topk),
    ...(likely && { likely: Array.from(likely) }),
  })),
});

/** Writes a run's files (each to a temporary name first, then renamed into place). */
export function writeRunFolder(
  dir: string,
  run: { summary: RunSummary; history: Iterable<IterationRecord>; checkpoint?: Checkpoint },
  force = false,
): string[] {
  checkExportDir(dir, force);
  mkdirSync(dir, { recursive: true });
  const files: [string, string][] = [
    ['history.jsonl', [...run.history].map((r) => `${JSON.stringify(r)}\n`).join('')],
    ...(run.checkpoint
      ? [['checkpoint.json', JSON.stringify(checkpointJson(run.checkpoint))] as [string, string]]
      : []),
    ['run.json', `${JSON.stringify(run.summary, null, 2)}\n`],
  ];
  for (const [name, text] of files) writeFileSync(join(dir, `${name}.tmp`), text);
  for (const [name] of files) renameSync(join(dir, `${name}.tmp`), join(dir, name));
  return files.map(([name]) => join(dir, name));
}

function readJson(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new CorruptFileError(path, `cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new CorruptFileError(path, 'is not valid JSON');
  }
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function checkSummary(path: string, v: unknown): RunSummary {
  if (!isObject(v)) throw new CorruptFileError(path, 'expected a JSON object (a run summary)');
  const need: [string, (x: unknown) => boolean, string][] = [
    ['version', (x) => x === 1, '1'],
    ['target', (x) => typeof x === 'string', 'a target spec'],
    ['model', (x) => isObject(x) && typeof x.id === 'string' && typeof x.sha256 === 'string', '{id, sha256}'],
    ['options', isObject, 'the run’s options'],
    ['iterations', (x) => Number.isInteger(x), 'an integer'],
    ['frontier', (x) => Array.isArray(x) && x.every(isPoint), 'a list of {ids, target, xent}'],
    ['population', (x) => Array.isArray(x) && x.every(isPoint), 'a list of {ids, target, xent}'],
  ];
  for (const [field, ok, expected] of need)
    if (!ok(v[field])) throw new CorruptFileError(path, `expected ${field} to be ${expected}`);
  return v as unknown as RunSummary;
}

function isPoint(x: unknown): boolean {
  return (
    isObject(x) &&
    Array.isArray(x.ids) &&
    x.ids.every((t) => Number.isInteger(t)) &&
    (typeof x.target === 'number' || x.target === null) &&
    (typeof x.xent === 'number' || x.xent === null)
  );
}

function checkRecord(path: string, line: number, v: unknown, iter: number, L: number): IterationRecord {
  const where = `line ${line}`;
  if (!isObject(v)) throw new CorruptFileError(path, `${where}: expected an iteration record`);
  if (v.iter !== iter)
    throw new CorruptFileError(path, `${where}: expected iteration ${iter}, found ${String(v.iter)}`);
  if (
    !Array.isArray(v.candidates) ||
    !v.candidates.every((c) => isPoint(c) && (c as { ids: unknown[] }).ids.length === L)
  )
    throw new CorruptFileError(path, `${where}: expected candidates of ${L} token ids with target and xent`);
  if (!Array.isArray(v.keep) || !Array.isArray(v.rng))
    throw new CorruptFileError(path, `${where}: expected keep and rng lists`);
  return v as unknown as IterationRecord;
}

/** Reads an exported run, checking what it reads (a corrupt file is a CorruptFileError naming it). */
export function readRunFolder(dir: string): RunFolder {
  const runPath = join(dir, 'run.json');
  if (!existsSync(runPath))
    throw new RunNotFoundError(`${dir} is not a reverie run: ${runPath} does not exist`);
  const summary = checkSummary(runPath, readJson(runPath));
  const historyPath = join(dir, 'history.jsonl');
  if (!existsSync(historyPath))
    throw new RunNotFoundError(`${dir} is not a reverie run: ${historyPath} does not exist`);
  const checkpointPath = join(dir, 'checkpoint.json');
  const checkpoint = existsSync(checkpointPath) ? readCheckpointFile(checkpointPath, summary) : undefined;
  return {
    dir,
    summary,
    *history() {
      const lines = readFileSync(historyPath, 'utf8').split('\n');
      if (lines.at(-1) === '') lines.pop();
      if (lines.length !== summary.iterations)
        throw new CorruptFileError(
          historyPath,
          `holds ${lines.length} iterations, run.json says ${summary.iterations}`,
        );
      for (const [i, line] of lines.entries()) {
        let record: unknown;
        try {
          record = JSON.parse(line);
        } catch {
          throw new CorruptFileError(historyPath, `line ${i + 1} is not valid JSON`);
        }
        yield checkRecord(historyPath, i + 1, record, i, summary.options.seqLen);
      }
    },
    ...(checkpoint && { checkpoint }),
  };
}

function readCheckpointFile(path: string, summary: RunSummary): Checkpoint {
  const v = readJson(path);
  if (!isObject(v) || v.iter !== summary.iterations || !Array.isArray(v.population) || !Array.isArray(v.rng))
    throw new CorruptFileError(path, `expected the checkpoint after iteration ${summary.iterations}`);
  const population = v.population.map((m: unknown) => {
    if (!isPoint(m) || !Array.isArray((m as { topk?: unknown }).topk))
      throw new CorruptFileError(path, 'expected members with ids, target, xent, penalty and topk');
    const { topk, likely, ...rest } = m as { topk: number[]; likely?: number[] } & Record<string, unknown>;
    return {
      ...rest,
      topk: Int32Array.from(topk),
      ...(likely && { likely: Int32Array.from(likely) }),
    } as Checkpoint['population'][number];
  });
  return { ...(v as unknown as Checkpoint), population };
}
