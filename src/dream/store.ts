import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promptKey, type Candidate, type IterationRecord } from './epo.ts';
import type { Evaluation } from './engine/evaluator.ts';
import type { EpoOptions } from './options.ts';

export const RUN_VERSION = 1;

/** A candidate with its prompt's text. */
export interface FrontierPoint extends Candidate {
  text: string;
}

/** DIR/run.json. */
export interface RunSummary {
  version: number;
  model: { id: string; sha256: string };
  target: string;
  options: EpoOptions;
  seed: number;
  /** The BOS id put before the optimized tokens, or null. */
  bos: number | null;
  /** How children were evaluated: in full, or from their parents' cached prefixes (options.evaluation). */
  evaluation: Evaluation;
  iterations: number;
  seconds: number;
  evaluations: number;
  dropped: number;
  population: (FrontierPoint & { penalty: number })[];
  frontier: FrontierPoint[];
}

/** State a resume needs beyond history.jsonl: the population's gradient top-k, as it was. */
export interface Checkpoint {
  iter: number;
  rng: number[];
  evaluations: number;
  population: {
    ids: number[];
    target: number;
    xent: number;
    penalty: number;
    topk: number[];
    likely?: number[];
  }[];
}

export class RunNotFoundError extends Error {
  override name = 'RunNotFoundError';
}

/** A run directory's run.json. */
export function readRunSummary(dir: string): RunSummary {
  const path = join(dir, 'run.json');
  if (!existsSync(path)) throw new RunNotFoundError(`${dir} is not a reverie run: ${path} does not exist`);
  return JSON.parse(readFileSync(path, 'utf8')) as RunSummary;
}

/** A run directory's checkpoint.json. */
export function readCheckpoint(dir: string): Checkpoint {
  const path = join(dir, 'checkpoint.json');
  if (!existsSync(path)) throw new RunNotFoundError(`${dir} is not a reverie run: ${path} does not exist`);
  return JSON.parse(readFileSync(path, 'utf8')) as Checkpoint;
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
  for (const record of readHistory(dir)) for (const c of record.candidates) distinct.set(promptKey(c.ids), c);
  return [...distinct.values()];
}
