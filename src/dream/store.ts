import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Candidate, IterationRecord } from './epo.ts';
import type { RunSummary } from './run.ts';

export class RunNotFoundError extends Error {
  override name = 'RunNotFoundError';
}

/** A run directory's run.json. */
export function readRunSummary(dir: string): RunSummary {
  const path = join(dir, 'run.json');
  if (!existsSync(path)) throw new RunNotFoundError(`${dir} is not a reverie run: ${path} does not exist`);
  return JSON.parse(readFileSync(path, 'utf8')) as RunSummary;
}

/** A run directory's history.jsonl, one record per iteration. */
export function readHistory(dir: string): IterationRecord[] {
  const path = join(dir, 'history.jsonl');
  if (!existsSync(path)) throw new RunNotFoundError(`${dir} is not a reverie run: ${path} does not exist`);
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as IterationRecord);
}

/** Every distinct candidate a run evaluated. */
export function runCandidates(dir: string): Candidate[] {
  const distinct = new Map<string, Candidate>();
  for (const record of readHistory(dir)) for (const c of record.candidates) distinct.set(c.ids.join(','), c);
  return [...distinct.values()];
}
