/** EPO options; every default lives here. */
export interface EpoOptions {
  /** The algorithm's settings that other options do not set (see PRESETS). */
  preset: Preset;
  /** Optimized tokens per prompt (a BOS, where used, comes on top). */
  seqLen: number;
  /** Population size M; 1 with `gcg` is GCG. */
  population: number;
  /** Children per member per iteration (r). */
  childrenPerMember: number;
  /**
   * Gradient top-k tokens kept per position; 'auto': a quarter of the tokens that may be proposed, at most
   * 512 (resolveTopk). A run records the number it used.
   */
  topk: number | 'auto';
  iters: number;
  /** Penalties λ_i = exp(linspace(ln min, ln max, M)). */
  penaltyMin: number;
  penaltyMax: number;
  /** Restart every F iterations (0: never), with λ_r ~ U[restartPenaltyMin, restartPenaltyMax]. */
  restartEvery: number;
  restartPenaltyMin: number;
  restartPenaltyMax: number;
  /** The share of children whose new token is one of the model's likeliest there, not the gradient's. */
  likelyShare: number;
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

export type Preset = 'reverie' | 'dreamy';

/** The options a preset sets. */
export type PresetOptions = Pick<
  EpoOptions,
  | 'population'
  | 'childrenPerMember'
  | 'topk'
  | 'iters'
  | 'penaltyMin'
  | 'penaltyMax'
  | 'restartEvery'
  | 'restartPenaltyMin'
  | 'restartPenaltyMax'
  | 'likelyShare'
>;

/**
 * `dreamy`: the reference's settings and operators (dreamy's epo.py; DESIGN.md §5), its known defects fixed
 * (the restart uses its drawn penalty, and never fires at iteration 0). `reverie`, the default, departs from
 * it where the quality benchmark (README, "Dream quality") shows better dreams per second.
 */
/** The reference's settings: dreamy's epo.py (DESIGN.md §5). */
const DREAMY: Readonly<PresetOptions> = {
  population: 8,
  childrenPerMember: 32,
  topk: 512,
  iters: 300,
  penaltyMin: 0.1,
  penaltyMax: 10,
  restartEvery: 50,
  restartPenaltyMin: 2 / 3,
  restartPenaltyMax: 6,
  likelyShare: 0,
};

export const PRESETS: Readonly<Record<Preset, Readonly<PresetOptions>>> = {
  reverie: { ...DREAMY, topk: 'auto', iters: 600 },
  dreamy: DREAMY,
};

export const DEFAULT_EPO_OPTIONS: Readonly<EpoOptions> = {
  preset: 'reverie',
  ...PRESETS.reverie,
  seqLen: 12,
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

/** Defaults filled in (the preset's, then the others') and every option checked. */
export function resolveOptions(partial: Partial<EpoOptions>): EpoOptions {
  const preset = partial.preset ?? DEFAULT_EPO_OPTIONS.preset;
  if (!Object.hasOwn(PRESETS, preset))
    throw new OptionsError(`preset must be ${Object.keys(PRESETS).join(' or ')}, got ${String(preset)}`);
  const given = Object.fromEntries(Object.entries(partial).filter(([, v]) => v !== undefined));
  const options: EpoOptions = { ...DEFAULT_EPO_OPTIONS, ...PRESETS[preset], ...given };
  if (options.gcg) options.population = 1;
  if (options.topk !== 'auto' && !(Number.isInteger(options.topk) && options.topk >= 1))
    throw new OptionsError(`topk must be a positive integer or auto, got ${options.topk}`);
  const positiveInts = ['seqLen', 'population', 'childrenPerMember'] as const;
  for (const key of positiveInts)
    if (!Number.isInteger(options[key]) || options[key] < 1)
      throw new OptionsError(`${key} must be a positive integer, got ${options[key]}`);
  for (const key of ['iters', 'restartEvery', 'maxEvaluations'] as const)
    if (!Number.isInteger(options[key]) || options[key] < 0)
      throw new OptionsError(`${key} must be a non-negative integer, got ${options[key]}`);
  if (!['auto', 'full', 'incremental'].includes(options.evaluation))
    throw new OptionsError(`evaluation must be auto, full or incremental, got ${options.evaluation}`);
  if (!(options.likelyShare >= 0 && options.likelyShare <= 1))
    throw new OptionsError(`likelyShare must be in [0, 1], got ${options.likelyShare}`);
  if (!(options.penaltyMin > 0 && options.penaltyMax >= options.penaltyMin))
    throw new OptionsError(`penalties need 0 < min ≤ max, got ${options.penaltyMin}..${options.penaltyMax}`);
  return options;
}

/**
 * The top-k a run uses where `allowed` tokens may be proposed: never more than those (a banned token is never
 * proposed), and for 'auto' a quarter of them, at most the reference's 512. Children draw uniformly from the
 * top-k, so a top-k that takes (nearly) every allowed token leaves the gradient no say: stories260K allows 509
 * of its 512 tokens (auto: 128), GPT-2 and Pythia about 50k (auto: 512).
 */
export function resolveTopk(topk: number | 'auto', allowed: number): number {
  return Math.min(topk === 'auto' ? Math.min(512, Math.ceil(allowed / 4)) : topk, allowed);
}

/** λ_i = exp(linspace(ln min, ln max, M)); GCG's one penalty. */
export function slotPenalties(options: EpoOptions): number[] {
  if (options.gcg) return [options.penalty];
  const M = options.population;
  const [lo, hi] = [Math.log(options.penaltyMin), Math.log(options.penaltyMax)];
  return Array.from({ length: M }, (_, i) => Math.exp(M === 1 ? lo : lo + ((hi - lo) * i) / (M - 1)));
}
