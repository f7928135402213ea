import type { ModelConfig } from '../io/hf-config.ts';

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
  /** The share of children that are crossovers of their parent with another member (epo.ts, makeChild). */
  crossoverShare: number;
  /** The share of children that are shifts: a token inserted or deleted, the length kept (makeChild). */
  shiftShare: number;
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
  /**
   * A perplexity filter (0: none): once some candidate is within it (xent ≤ maxXent), none above it enters the
   * population; until then selection is as without it (from random tokens EPO must first come down in xent).
   */
  maxXent: number;
  /**
   * Fixed text around the optimized tokens, 'BEFORE {prompt} AFTER' (context.ts); several: one prompt for
   * every context, target and xent averaged. None (the default): the prompt alone, after the BOS.
   */
  templates: string[];
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
  | 'crossoverShare'
  | 'shiftShare'
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
  crossoverShare: 0,
  shiftShare: 0,
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
  maxXent: 0,
  templates: [],
  evaluation: 'auto',
};

export class OptionsError extends Error {
  override name = 'OptionsError';
}

/** How an error names an option: by its EpoOptions key (the default), or as the CLI flag that sets it. */
export type OptionName = (key: keyof EpoOptions) => string;
const byKey: OptionName = (key) => key;

/**
 * Defaults filled in (the preset's, then the others') and every option checked, what the run would hold in
 * memory included (checkMemory); `name` says how an error names an option.
 */
export function resolveOptions(partial: Partial<EpoOptions>, name: OptionName = byKey): EpoOptions {
  const preset = partial.preset ?? DEFAULT_EPO_OPTIONS.preset;
  if (!Object.hasOwn(PRESETS, preset))
    throw new OptionsError(
      `${name('preset')} must be ${Object.keys(PRESETS).join(' or ')}, got ${String(preset)}`,
    );
  const given = Object.fromEntries(Object.entries(partial).filter(([, v]) => v !== undefined));
  const options: EpoOptions = { ...DEFAULT_EPO_OPTIONS, ...PRESETS[preset], ...given };
  if (options.gcg) options.population = 1;
  if (options.topk !== 'auto' && !(Number.isInteger(options.topk) && options.topk >= 1))
    throw new OptionsError(`${name('topk')} must be a positive integer or auto, got ${options.topk}`);
  const positiveInts = ['seqLen', 'population', 'childrenPerMember'] as const;
  for (const key of positiveInts)
    if (!Number.isInteger(options[key]) || options[key] < 1)
      throw new OptionsError(`${name(key)} must be a positive integer, got ${options[key]}`);
  if (options.threads !== undefined && !(Number.isInteger(options.threads) && options.threads >= 1))
    throw new OptionsError(`${name('threads')} must be a positive integer, got ${options.threads}`);
  for (const key of ['iters', 'restartEvery', 'maxEvaluations', 'seed'] as const)
    if (!Number.isSafeInteger(options[key]) || options[key] < 0)
      throw new OptionsError(`${name(key)} must be a non-negative integer, got ${options[key]}`);
  for (const key of ['timeLimit', 'penalty', 'maxXent'] as const)
    if (!(Number.isFinite(options[key]) && options[key] >= 0))
      throw new OptionsError(`${name(key)} must be a non-negative number, got ${options[key]}`);
  if (!Array.isArray(options.templates) || options.templates.some((t) => typeof t !== 'string'))
    throw new OptionsError(
      `${name('templates')} must be a list of texts, got ${JSON.stringify(options.templates)}`,
    );
  if (!['auto', 'full', 'incremental'].includes(options.evaluation))
    throw new OptionsError(
      `${name('evaluation')} must be auto, full or incremental, got ${options.evaluation}`,
    );
  for (const key of ['likelyShare', 'crossoverShare', 'shiftShare'] as const)
    if (!(options[key] >= 0 && options[key] <= 1))
      throw new OptionsError(`${name(key)} must be in [0, 1], got ${options[key]}`);
  if (options.crossoverShare + options.shiftShare > 1)
    throw new OptionsError(
      `${name('crossoverShare')} + ${name('shiftShare')} must be at most 1, ` +
        `got ${options.crossoverShare + options.shiftShare}`,
    );
  if (!(options.penaltyMin > 0 && options.penaltyMax >= options.penaltyMin))
    throw new OptionsError(
      `penalties need 0 < ${name('penaltyMin')} ≤ ${name('penaltyMax')}, ` +
        `got ${options.penaltyMin}..${options.penaltyMax}`,
    );
  checkMemory(options, name);
  return options;
}

/**
 * Bytes a run may hold for what grows with its options (checkMemory). Node's default heap limit is 2–4 GiB on
 * 64-bit machines; the model's weights and ONNX Runtime's buffers lie outside the heap, and the evaluator
 * bounds the latter on its own (activationBytesPerRun).
 */
export const RUN_MEMORY_BUDGET = 2 ** 30;

const count = (n: number): string => Math.round(n).toLocaleString('en-US');
const size = (bytes: number): string =>
  bytes >= 2 ** 30 ? `${(bytes / 2 ** 30).toFixed(1)} GiB` : `${Math.ceil(bytes / 2 ** 20)} MiB`;

/**
 * Checks what a run would hold that grows with its options against RUN_MEMORY_BUDGET, before it starts. In
 * bytes, measured on Node 20 at 12 and 64 tokens: an iteration's candidates (children, their keys and records:
 * ~600 bytes each at 12 tokens, ~1.9 kB at 64), the candidates the run keeps so that none is evaluated twice
 * (EpoState.seen: ~190 and ~490 bytes), and each member's seqLen × top-k gradient tokens (as many likeliest ones
 * with likelyShare) as int32, and once more encoded in the checkpoint.
 */
function checkMemory(options: EpoOptions, name: OptionName): void {
  const { population: M, childrenPerMember: r, seqLen: T } = options;
  const topk = resolveTopk(options.topk, Infinity); // at most this, whatever the model
  const candidates = M * (r + 1);
  const planned = M + options.iters * M * r;
  const kept = options.maxEvaluations > 0 ? Math.min(planned, options.maxEvaluations + M * r) : planned;
  const iteration = candidates * (300 + 25 * T);
  const seen = kept * (120 + 7 * T);
  const population = M * T * topk * (options.likelyShare > 0 ? 2 : 1) * 8;
  const total = iteration + seen + population;
  if (total > RUN_MEMORY_BUDGET)
    throw new OptionsError(
      `the run would hold ~${size(total)}, more than its ${size(RUN_MEMORY_BUDGET)}: ` +
        `${count(candidates)} candidates an iteration (${name('population')} × (${name('childrenPerMember')} ` +
        `+ 1)) ~${size(iteration)}, up to ${count(kept)} kept so that none is evaluated twice ` +
        `(${name('iters')} × ${name('population')} × ${name('childrenPerMember')}, or ${name('maxEvaluations')}) ` +
        `~${size(seen)}, ${count(M)} members' ${T} × ${topk} gradient tokens ~${size(population)}`,
    );
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

/**
 * Checks resolved options against the model a run uses, before its evaluator is built: the optimized tokens
 * and the BOS (where `bos` is not null) within the model's context, and a top-k within its vocabulary. `name`
 * says how an error names an option.
 */
export function checkAgainstModel(
  options: EpoOptions,
  config: ModelConfig,
  bos: number | null,
  name: OptionName = byKey,
): void {
  const { seqLen } = options;
  const prefix = bos === null ? 0 : 1;
  if (seqLen + prefix > config.maxPositions)
    throw new OptionsError(
      `${name('seqLen')} ${seqLen}${prefix ? ' + BOS' : ''} = ${seqLen + prefix} positions, past the ` +
        `model's context of ${config.maxPositions} (the max positions of its config); ${name('seqLen')} ` +
        `may be at most ${config.maxPositions - prefix}`,
    );
  if (options.topk !== 'auto' && options.topk > config.vocabSize)
    throw new OptionsError(
      `${name('topk')} ${options.topk} is more than the model's vocabulary of ${config.vocabSize} tokens`,
    );
}

/** λ_i = exp(linspace(ln min, ln max, M)); GCG's one penalty. */
export function slotPenalties(options: EpoOptions): number[] {
  if (options.gcg) return [options.penalty];
  const M = options.population;
  const [lo, hi] = [Math.log(options.penaltyMin), Math.log(options.penaltyMax)];
  return Array.from({ length: M }, (_, i) => Math.exp(M === 1 ? lo : lo + ((hi - lo) * i) / (M - 1)));
}
