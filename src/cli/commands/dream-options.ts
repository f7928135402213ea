/**
 * The options of `reverie dream`, written once: the parseArgs options, the usage text's option lines, the
 * EpoOptions a new run gets and the check of a resumed run against its stored options all come from OPTIONS.
 */
import {
  checkAgainstModel,
  DEFAULT_EPO_OPTIONS,
  PRESETS,
  resolveOptions,
  resolveTopk,
  type EpoOptions,
  type OptionName,
} from '../../dream/options.ts';
import { resolveBos } from '../../dream/run.ts';
import { CONTINUATION_LOSSES, continuationWithLoss } from '../../objectives/continuation.ts';
import type { RunHeader } from '../../dream/records.ts';
import { tokenPolicy } from '../../dream/tokens.ts';
import { DEFAULT_MODEL } from '../../io/resolve.ts';
import type { Model } from '../../models/model.ts';
import type { ParseArgsConfig } from 'node:util';
import { UsageError } from '../command.ts';
import { numberOption, THREADS, type NumberSpec } from '../numbers.ts';

const d = DEFAULT_EPO_OPTIONS;

/** What a resumed run's check needs: the run, and the given options over its own, resolved as it was. */
interface ResumeContext {
  run: RunHeader;
  /** The option as given on the command line. */
  raw: string;
  /** The run's options with the given ones over them, resolved as the run resolved them (top-k capped). */
  given: EpoOptions;
  modelSha256: string;
}

/**
 * One option of `reverie dream`: the parseArgs options, the usage text's option lines, the EpoOptions a new
 * run gets and the check of a resumed run are all derived from these.
 */
export interface DreamOption {
  name: string;
  short?: string;
  /**
   * int, number: non-negative; flag: a boolean set by its presence; choice: one of `choices`; texts: a text,
   * repeatable.
   */
  kind: 'int' | 'number' | 'flag' | 'text' | 'texts' | 'choice';
  /** The value's name in the usage text (N, X, DIR…). */
  arg?: string;
  /** The EpoOptions key it sets (a flag sets it to `set`, default true). */
  key?: keyof EpoOptions;
  set?: boolean;
  /** A number that may also be given as 'auto'. */
  auto?: boolean;
  choices?: readonly string[];
  /** An int's or number's bounds, where it is not just non-negative. */
  spec?: NumberSpec;
  /** The default shown for {default} in the help, where it is not DEFAULT_EPO_OPTIONS[key]. */
  default?: string;
  /** The usage text's line(s); {default} is the default. */
  help: string | readonly string[];
  /**
   * With --resume: 'run' (default): part of the run, must agree with it; 'call': holds for this invocation;
   * 'start': only starts a run.
   */
  resume?: 'run' | 'call' | 'start';
  /** The run's value and the given one's, compared; default: run.options[key] and given[key]. */
  compare?: (c: ResumeContext) => [run: unknown, given: unknown];
}

export const OPTIONS: readonly DreamOption[] = [
  {
    name: 'model',
    short: 'm',
    kind: 'text',
    arg: 'M',
    default: DEFAULT_MODEL,
    help: 'path or hub id (default {default})',
    // Another name for the same weights is the same model.
    compare: (c) => [c.run.model.id, c.modelSha256 === c.run.model.sha256 ? c.run.model.id : c.raw],
  },
  {
    name: 'target',
    short: 't',
    kind: 'text',
    arg: 'T',
    help: 'the target spec',
    compare: (c) => [c.run.target.trim(), c.raw.trim()],
  },
  {
    name: 'loss',
    kind: 'choice',
    arg: 'L',
    choices: CONTINUATION_LOSSES,
    help: [
      'for a continuation:TEXT target, how its tokens count: mean log-probability (default), min',
      "(the least likely token), mellowmax (nanoGCG's, between the two) or margin (logit margins)",
    ],
    compare: (c) => [c.run.target.trim(), continuationWithLoss(c.run.target, c.raw)],
  },
  {
    name: 'template',
    kind: 'texts',
    arg: 'T',
    key: 'templates',
    default: 'none',
    help: [
      "fixed text around the prompt, 'BEFORE{prompt}AFTER' (spaces as written); the prompt's xent is",
      'that of its own tokens in this context. Repeat: one prompt for every template, target and xent',
      'averaged. Targets read positions from the end of the whole sequence',
    ],
    compare: (c) => [JSON.stringify(c.run.options.templates ?? []), JSON.stringify(c.given.templates)],
  },
  {
    name: 'preset',
    kind: 'choice',
    arg: 'P',
    key: 'preset',
    choices: Object.keys(PRESETS),
    help: [
      "the algorithm's settings: reverie (default) or dreamy (the reference's, exactly); options",
      "below default to the preset's (the defaults shown are reverie's)",
    ],
    // Runs from before presets ran the reference's settings.
    compare: (c) => [c.run.options.preset ?? 'dreamy', c.given.preset],
  },
  {
    name: 'seq-len',
    kind: 'int',
    arg: 'N',
    key: 'seqLen',
    help: 'optimized tokens per prompt (default {default})',
  },
  {
    name: 'population',
    kind: 'int',
    arg: 'M',
    key: 'population',
    help: 'population size (default {default})',
  },
  {
    name: 'children',
    kind: 'int',
    arg: 'R',
    key: 'childrenPerMember',
    help: 'children per member per iteration (default {default})',
  },
  {
    name: 'topk',
    kind: 'int',
    arg: 'K',
    key: 'topk',
    auto: true,
    help: [
      'gradient top-k tokens per position, or auto: a quarter of the tokens that may be proposed,',
      'at most 512 (default {default})',
    ],
  },
  {
    name: 'iters',
    kind: 'int',
    arg: 'N',
    key: 'iters',
    help: 'iterations (default {default}); with --resume, how many more',
    resume: 'call',
  },
  {
    name: 'penalty-min',
    kind: 'number',
    arg: 'X',
    key: 'penaltyMin',
    help: 'smallest penalty λ (default {default})',
  },
  {
    name: 'penalty-max',
    kind: 'number',
    arg: 'X',
    key: 'penaltyMax',
    help: 'largest penalty λ (default {default})',
  },
  {
    name: 'restart-every',
    kind: 'int',
    arg: 'F',
    key: 'restartEvery',
    help: 'restart every F iterations, 0 = never (default {default})',
  },
  {
    name: 'likely-share',
    kind: 'number',
    arg: 'X',
    key: 'likelyShare',
    help: "share of children taking one of the model's likeliest tokens, not the gradient's (default {default})",
  },
  {
    name: 'crossover-share',
    kind: 'number',
    arg: 'X',
    key: 'crossoverShare',
    help: "share of children that are crossovers: the parent's opening, another member's ending (default {default})",
  },
  {
    name: 'shift-share',
    kind: 'number',
    arg: 'X',
    key: 'shiftShare',
    help: 'share of children that are shifts: a token inserted or deleted, the length kept (default {default})',
  },
  { name: 'seed', kind: 'int', arg: 'S', key: 'seed', help: 'random seed (default {default})' },
  { name: 'gcg', kind: 'flag', key: 'gcg', help: 'GCG: population 1 with the fixed --penalty' },
  { name: 'penalty', kind: 'number', arg: 'X', key: 'penalty', help: "GCG's penalty (default {default})" },
  {
    name: 'no-bos',
    kind: 'flag',
    key: 'bos',
    set: false,
    help: 'no BOS before the prompt (default: BOS where the tokenizer adds one)',
    compare: (c) => [c.run.bos === null, true],
  },
  { name: 'ascii', kind: 'flag', key: 'ascii', help: 'never propose non-ASCII tokens' },
  {
    name: 'round-trip',
    kind: 'flag',
    key: 'roundTrip',
    help: 'drop candidates whose text does not re-encode to the same ids',
  },
  {
    name: 'initial',
    kind: 'text',
    arg: 'TEXT',
    help: 'start every member from this prompt (exactly --seq-len tokens)',
    resume: 'start',
  },
  {
    name: 'init-from',
    kind: 'text',
    arg: 'SCAN',
    help: "start slot i from a scan's i-th top example (its windows must be --seq-len tokens)",
    resume: 'start',
  },
  {
    name: 'resume',
    kind: 'text',
    arg: 'RUN',
    help: 'continue a stored run (its id or name) for --iters more iterations',
    resume: 'call',
  },
  {
    name: 'name',
    kind: 'text',
    arg: 'NAME',
    help: 'a name for the new run, usable wherever its id is (not a number alone)',
    resume: 'start',
  },
  {
    name: 'store',
    kind: 'text',
    arg: 'PATH',
    help: 'the store (default $REVERIE_STORE, else ./reverie.db)',
    resume: 'call',
  },
  {
    name: 'time-limit',
    kind: 'number',
    arg: 'S',
    key: 'timeLimit',
    help: 'stop after S seconds, everything written',
    resume: 'call',
  },
  {
    name: 'max-xent',
    kind: 'number',
    arg: 'X',
    key: 'maxXent',
    help: [
      'a perplexity filter: no candidate above xent X enters the population (reverie threshold',
      'gives X from a corpus); the report names the best prompt within it (default: none)',
    ],
  },
  {
    name: 'max-evaluations',
    kind: 'int',
    arg: 'N',
    key: 'maxEvaluations',
    help: 'stop after N evaluated candidates',
    resume: 'call',
  },
  {
    name: 'threads',
    kind: 'int',
    arg: 'N',
    key: 'threads',
    spec: THREADS,
    help: 'ONNX Runtime threads (default: 1 for tiny models such as stories260K, else all)',
  },
  {
    name: 'evaluation',
    kind: 'choice',
    arg: 'E',
    key: 'evaluation',
    choices: ['auto', 'full', 'incremental'],
    help: [
      "how children are evaluated: incremental (from the parent's cached prefix),",
      'full, or auto (default: the faster for the model; run.json says which)',
    ],
    // The evaluation the run asked for, or the one it used (run.json's evaluation, what its auto chose).
    compare: (c) => {
      const asked = c.run.options.evaluation;
      return [asked, c.given.evaluation === c.run.evaluation ? asked : c.given.evaluation];
    },
  },
  {
    name: 'out',
    kind: 'text',
    arg: 'DIR',
    help: 'also export the run there at the end (run.json, history.jsonl, checkpoint.json)',
    resume: 'call',
  },
  {
    name: 'force',
    kind: 'flag',
    help: '--out may be a folder that is not empty (its run files are replaced)',
    resume: 'call',
  },
  {
    name: 'against',
    kind: 'text',
    arg: 'SCAN',
    help: [
      'a scan of the same target and model (reverie scan --out): progress shows the best dream at ≤ its',
      "median xent against its top example, and the end prints the paper's comparison (reverie compare)",
    ],
    resume: 'call',
  },
  {
    name: 'profile',
    kind: 'flag',
    help: "also write ONNX Runtime's profile of each program to DIR/ort-profile_*.json",
    resume: 'call',
  },
  {
    name: 'plain',
    kind: 'flag',
    help: [
      'prompts as plain text (default: token boundaries shown: every other token dim on a colour',
      'terminal, else a | between tokens)',
    ],
    resume: 'call',
  },
  {
    name: 'json',
    kind: 'flag',
    help: 'print run.json at the end instead of the frontier table',
    resume: 'call',
  },
];

/** parseArgs's options for a list of options. */
export function parseArgsOptions(options: readonly DreamOption[]): NonNullable<ParseArgsConfig['options']> {
  return Object.fromEntries(
    options.map((o) => [
      o.name,
      {
        type: o.kind === 'flag' ? 'boolean' : 'string',
        ...(o.short !== undefined && { short: o.short }),
        ...(o.kind === 'texts' && { multiple: true }),
      },
    ]),
  ) as NonNullable<ParseArgsConfig['options']>;
}

const flagText = (o: DreamOption) => `--${o.name}${o.arg ? ` ${o.arg}` : ''}`;

export function optionLines(options: readonly DreamOption[] = OPTIONS): string[] {
  const width = Math.max(...options.map((o) => flagText(o).length));
  return options.flatMap((o) => {
    const fallback = o.default ?? (o.key && String(d[o.key]));
    const [first, ...more] = [o.help]
      .flat()
      .map((line) => (fallback === undefined ? line : line.replace('{default}', fallback)));
    return [
      `  ${o.short ? `-${o.short}, ` : '    '}${flagText(o).padEnd(width)}  ${first}`,
      ...more.map((line) => `${' '.repeat(width + 8)}${line}`),
    ];
  });
}

/** 'a, b or c'. */
const oneOf = (items: readonly string[], last = 'or') =>
  items.length < 2 ? items.join('') : `${items.slice(0, -1).join(', ')} ${last} ${items.at(-1)}`;

export function wrap(text: string, width = 106): string[] {
  const lines = [''];
  for (const word of text.split(' ')) {
    const line = lines.at(-1) as string;
    if (line !== '' && line.length + 1 + word.length > width) lines.push(word);
    else lines[lines.length - 1] = line === '' ? word : `${line} ${word}`;
  }
  return lines;
}

/** The options that hold for one call of a resumed run, besides --iters: '--time-limit, …'. */
export const perCall = oneOf(
  OPTIONS.filter((o) => o.resume === 'call' && o.name !== 'iters' && o.name !== 'resume').map(
    (o) => `--${o.name}`,
  ),
  'and',
);

/** A given option's value: numbers checked, a flag's `set`, a choice one of its choices. */
function optionValue(o: DreamOption, values: Record<string, unknown>, usage: string): unknown {
  const raw = values[o.name];
  if (o.kind === 'flag') return o.set ?? true;
  if (o.auto && raw === 'auto') return raw;
  if (o.kind === 'int' || o.kind === 'number')
    return numberOption(values, o.name, 0, { integer: o.kind === 'int', ...o.spec, usage });
  if (o.kind === 'texts') return raw;
  if (o.kind === 'choice' && !o.choices?.includes(raw as string))
    throw new UsageError(`--${o.name} must be ${oneOf(o.choices ?? [])}, got "${String(raw)}"\n\n${usage}`);
  return raw;
}

/** The flag that sets an EpoOptions key (--children for childrenPerMember), or the key where none does. */
const flagOf: OptionName = (key) => {
  const option = OPTIONS.find((o) => o.key === key);
  return option ? `--${option.name}` : key;
};

/**
 * The EpoOptions the given options set (resolveOptions fills in the rest). A new run's are checked here, before
 * any work, as resolveOptions will check them, named by flag; the checks that need the model are checkNewRun's.
 */
export function epoOptions(values: Record<string, unknown>, usage: string): Partial<EpoOptions> {
  const options: Record<string, unknown> = {};
  for (const o of OPTIONS)
    if (o.key && values[o.name] !== undefined) options[o.key] = optionValue(o, values, usage);
  if (values.resume === undefined) resolveOptions(options, flagOf);
  return options as Partial<EpoOptions>;
}

/** A new run's options checked against its model (the context, the vocabulary), named by flag. */
export function checkNewRun(options: Partial<EpoOptions>, model: Model): void {
  const resolved = resolveOptions(options, flagOf);
  checkAgainstModel(resolved, model.config, resolveBos(model, resolved), flagOf);
}

const shown = (value: unknown) => (typeof value === 'boolean' ? (value ? 'on' : 'off') : String(value));

/**
 * The given options that contradict the run being resumed, each as `--name (run: stored, given: value)`.
 * A given option is compared as the run would have resolved it: the top-k capped at the tokens that may be
 * proposed, the population of GCG 1.
 */
export function resumeConflicts(
  values: Record<string, unknown>,
  options: Partial<EpoOptions>,
  run: RunHeader,
  model: Model,
  modelSha256: string,
): string[] {
  const merged = { ...run.options, ...options };
  let given: EpoOptions;
  try {
    given = resolveOptions(merged);
  } catch {
    given = merged; // invalid only where a given option differs from the run's valid one: reported below
  }
  given.topk = resolveTopk(
    given.topk,
    tokenPolicy(model.config.vocabSize, model.tokenizer, given.ascii).allowed.length,
  );
  const conflicts: string[] = [];
  for (const o of OPTIONS) {
    const raw = values[o.name];
    if (raw === undefined || o.resume === 'call') continue;
    const now = o.kind === 'flag' ? 'on' : o.kind === 'texts' ? JSON.stringify(raw) : String(raw);
    if (o.resume === 'start') {
      conflicts.push(`--${o.name} (run: already started, given: ${now})`);
      continue;
    }
    const [was, is] = o.compare?.({ run, raw: String(raw), given, modelSha256 }) ?? [
      run.options[o.key as keyof EpoOptions],
      given[o.key as keyof EpoOptions],
    ];
    if (was !== is) conflicts.push(`--${o.name} (run: ${shown(was)}, given: ${now})`);
  }
  return conflicts;
}
