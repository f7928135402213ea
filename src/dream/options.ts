/** EPO options; every default lives here. */
export interface EpoOptions {
  /** Optimized tokens per prompt (a BOS, where used, comes on top). */
  seqLen: number;
  /** Population size M; 1 with `gcg` is GCG. */
  population: number;
  /** Children per member per iteration (r). */
  childrenPerMember: number;
  /** Gradient top-k tokens kept per position. */
  topk: number;
  iters: number;
  /** Penalties λ_i = exp(linspace(ln min, ln max, M)). */
  penaltyMin: number;
  penaltyMax: number;
  /** Restart every F iterations (0: never), with λ_r ~ U[restartPenaltyMin, restartPenaltyMax]. */
  restartEvery: number;
  restartPenaltyMin: number;
  restartPenaltyMax: number;
  seed: number;
  /** GCG: population 1 with the one fixed `penalty`. */
  gcg: boolean;
  penalty: number;
  /** Put the tokenizer's BOS before the optimized tokens (default: where the tokenizer adds one). */
  bos?: boolean;
  /** Ban tokens whose text is not ASCII. */
  ascii: boolean;
  /** Drop children whose decoded text does not re-encode to the same ids, before evaluation. */
  roundTrip: boolean;
  /** Stop after this many seconds (0: no limit). */
  timeLimit: number;
  /** Stop after this many evaluated candidates (0: no limit). */
  maxEvaluations: number;
  /** Intra-op threads (default: one for tiny models, all cores otherwise; see defaultThreads). */
  threads?: number;
  /**
   * How children are evaluated: in full, or from their parents' cached prefixes ('incremental', equal up to
   * float32 rounding, about half the work); 'auto' takes evaluator.ts's defaultEvaluation (incremental).
   */
  evaluation: 'auto' | 'full' | 'incremental';
}

export const DEFAULT_EPO_OPTIONS: Readonly<EpoOptions> = {
  seqLen: 12,
  population: 8,
  childrenPerMember: 32,
  topk: 512,
  iters: 300,
  penaltyMin: 0.1,
  penaltyMax: 10,
  restartEvery: 50,
  restartPenaltyMin: 2 / 3,
  restartPenaltyMax: 6,
  seed: 0,
  gcg: false,
  penalty: 1,
  ascii: false,
  roundTrip: false,
  timeLimit: 0,
  maxEvaluations: 0,
  evaluation: 'auto',
};

export class OptionsError extends Error {
  override name = 'OptionsError';
}

/** Defaults filled in and every option checked. */
export function resolveOptions(partial: Partial<EpoOptions>): EpoOptions {
  const options = { ...DEFAULT_EPO_OPTIONS, ...partial };
  if (options.gcg) options.population = 1;
  const positiveInts = ['seqLen', 'population', 'childrenPerMember', 'topk'] as const;
  for (const key of positiveInts)
    if (!Number.isInteger(options[key]) || options[key] < 1)
      throw new OptionsError(`${key} must be a positive integer, got ${options[key]}`);
  for (const key of ['iters', 'restartEvery', 'maxEvaluations'] as const)
    if (!Number.isInteger(options[key]) || options[key] < 0)
      throw new OptionsError(`${key} must be a non-negative integer, got ${options[key]}`);
  if (!['auto', 'full', 'incremental'].includes(options.evaluation))
    throw new OptionsError(`evaluation must be auto, full or incremental, got ${options.evaluation}`);
  if (!(options.penaltyMin > 0 && options.penaltyMax >= options.penaltyMin))
    throw new OptionsError(`penalties need 0 < min ≤ max, got ${options.penaltyMin}..${options.penaltyMax}`);
  return options;
}

/** λ_i = exp(linspace(ln min, ln max, M)); GCG's one penalty. */
export function slotPenalties(options: EpoOptions): number[] {
  if (options.gcg) return [options.penalty];
  const M = options.population;
  const [lo, hi] = [Math.log(options.penaltyMin), Math.log(options.penaltyMax)];
  return Array.from({ length: M }, (_, i) => Math.exp(M === 1 ? lo : lo + ((hi - lo) * i) / (M - 1)));
}
