/**
 * What a dream run records, apart from where it is kept (the store, src/store/, or an exported folder): its
 * header, the state a resume starts from, and its summary.
 */
import type { Candidate } from './epo.ts';
import type { Evaluation } from './engine/evaluator.ts';
import type { EpoOptions } from './options.ts';

export const RUN_VERSION = 1;

/** A candidate with its prompt's text. */
export interface FrontierPoint extends Candidate {
  text: string;
}

/** What a run is: fixed when it starts. */
export interface RunHeader {
  version: number;
  model: { id: string; sha256: string };
  target: string;
  /** Every option, resolved (topk and threads as the run used them). */
  options: EpoOptions;
  seed: number;
  /** The BOS id put before the optimized tokens, or null. */
  bos: number | null;
  /** How children were evaluated: in full, or from their parents' cached prefixes (options.evaluation). */
  evaluation: Evaluation;
}

/** A run's header and its results so far (run.json of an exported run). */
export interface RunSummary extends RunHeader {
  iterations: number;
  seconds: number;
  evaluations: number;
  dropped: number;
  population: (FrontierPoint & { penalty: number })[];
  frontier: FrontierPoint[];
  /** Where the run was given a goal (DreamRequest.goal): what it was, and when a member first met it. */
  goal?: { name: string; reached: GoalReached | null };
}

/** The first member that met a run's goal: after how many iterations and seconds. */
export interface GoalReached extends FrontierPoint {
  iterations: number;
  seconds: number;
}

/** The state after an iteration (or before the first) that a resume continues from exactly. */
export interface Checkpoint {
  /** The next iteration to run. */
  iter: number;
  rng: number[];
  evaluations: number;
  /** Seconds the run has taken so far, and children dropped before evaluation. */
  seconds: number;
  dropped: number;
  /** The population with its gradients' top-k (and likeliest tokens), as they were. */
  population: {
    ids: number[];
    target: number;
    xent: number;
    penalty: number;
    topk: Int32Array;
    likely?: Int32Array;
  }[];
}

export class RunNotFoundError extends Error {
  override name = 'RunNotFoundError';
}
