import type { Model } from '../models/model.ts';
import type { Runtime } from '../runtime/index.ts';
import { parseTarget, type Target } from '../objectives/target.ts';
import { continuationIds } from '../objectives/continuation.ts';
import { runContexts, type SequenceContext } from './context.ts';
import { ContextsEvaluator } from './engine/contexts.ts';
import {
  initEpo,
  stepEpo,
  type Candidate,
  type AcceptChild,
  type EpoState,
  type IterationRecord,
  promptKey,
} from './epo.ts';
import { defaultEvaluation, defaultThreads, ModelEvaluator } from './engine/evaluator.ts';
import { nondominatedFrontier } from './frontier.ts';
import { checkAgainstModel, resolveOptions, resolveTopk, type EpoOptions } from './options.ts';
import { Rng } from '../graph/rng.ts';
import {
  RUN_VERSION,
  type Checkpoint,
  type GoalReached,
  type RunHeader,
  type RunSummary,
} from './records.ts';
import { roundTrips, tokenPolicy } from './tokens.ts';

/** The run header's model hash when the caller gave none (the CLI always hashes the weights). */
const UNRECORDED = 'unrecorded';

export interface DreamProgress {
  record: IterationRecord;
  /** The iteration the run ends at. */
  total: number;
  state: EpoState;
  evaluationsPerSecond: number;
}

/**
 * Where a run's results go as it runs (the store's sink commits each iteration in one transaction). A sink
 * that throws stops the run with its error.
 */
export interface RunSink {
  /** Once, before the first iteration of this call: the run's header and the state it starts from. */
  begin?(header: RunHeader, start: Checkpoint): void;
  /** After each iteration, as one unit: its record and the state after it. */
  iteration(record: IterationRecord, after: Checkpoint): void;
  /** When the call ends (the iterations done, or stopped early), with the run's summary. */
  end?(summary: RunSummary): void;
}

export interface DreamRequest {
  model: Model;
  /** sha256 of the model's weights, recorded in the run's header. */
  modelSha256?: string;
  /** A target spec (see TARGET_SYNTAX), or a Target object such as customTarget() builds. */
  target: string | Target;
  options?: Partial<EpoOptions>;
  /**
   * Start every member from this prompt instead of random tokens; or, as token ids, slot i from prompt
   * i mod n (e.g. a scan's top examples, best first).
   */
  initial?: string | readonly (readonly number[])[];
  sink?: RunSink;
  onProgress?: (progress: DreamProgress) => void;
  /**
   * Profile each compiled program with ONNX Runtime's profiler: `PREFIX_<time>.json` per program (Chrome
   * trace format), written when the run ends.
   */
  profilePrefix?: string;
  /** Checked between iterations: true ends the run cleanly, everything recorded. */
  shouldStop?: () => boolean;
  /** A goal checked on the first population and after each iteration, recorded in the summary. */
  goal?: RunGoal;
  /**
   * The ONNX Runtime the run's programs run on (default: onnxruntime-node in Node, onnxruntime-web in a
   * browser). Not part of the run's record: the same seed gives the same history on the same runtime.
   */
  runtime?: Runtime;
}

/**
 * What a run looks for besides its target (e.g. red-teaming's success: greedy decoding says the text):
 * `check` returns the first of the population's members that meets it, if any; with `stop`, the run ends
 * there (its summary's `goal.reached` says when).
 */
export interface RunGoal {
  name: string;
  check(
    population: readonly Candidate[],
    at: { iterations: number; seconds: number },
  ): Promise<Candidate | undefined>;
  stop: boolean;
}

export class RunError extends Error {
  override name = 'RunError';
}

/** sha256 of files, in order (a model's weights); it lives with the other file readers, in src/io. */
export { sha256Files } from '../io/files.ts';

const textOf = (model: Model, ids: readonly number[]): string =>
  model.tokenizer?.decode([...ids]) ?? ids.join(' ');

/** A run's summary; where no sink was given, with every iteration of the call (nothing else is kept). */
export type DreamResult = RunSummary & { history?: IterationRecord[] };

/** Runs EPO (or GCG) for a model and target; what it records goes to `request.sink`. */
export async function dream(request: DreamRequest): Promise<DreamResult> {
  const options = resolveOptions(request.options ?? {});
  const { model } = request;
  const bos = resolveBos(model, options);
  checkAgainstModel(options, model.config, bos);
  const targets = runTargets(request.target, model, options, bos);
  const initial =
    typeof request.initial === 'string'
      ? [encodePrompt(model, request.initial, options.seqLen)]
      : request.initial?.map((ids) => checkPrompt(model, ids, options.seqLen));
  return execute(request, options, targets, bos, async (evaluator, allowed) =>
    initEpo(evaluator, options, allowed, initial),
  );
}

/** A run as it was kept: what a resume continues from. */
export interface StoredRun {
  header: RunHeader;
  checkpoint: Checkpoint;
  /** Its iterations so far, in order (the candidates it has evaluated, never again). */
  history: Iterable<IterationRecord>;
}

/** What a resumed run is asked: `iters` more iterations, within this call's limits (0: none). */
export interface ResumeRequest extends Omit<DreamRequest, 'target' | 'options' | 'initial'> {
  from: StoredRun;
  /** The run's target again where it is a function: a run records only a custom target's spec, custom:NAME. */
  target?: Target;
  iters: number;
  /** Stop after this many seconds of this call. */
  timeLimit?: number;
  /** Stop after this many more evaluated candidates. */
  maxEvaluations?: number;
}

/** Continues a stored run for `iters` more iterations; the result equals a run that never stopped. */
export async function resumeDream(request: ResumeRequest): Promise<DreamResult> {
  const { header, checkpoint, history } = request.from;
  if (header.model.sha256 !== (request.modelSha256 ?? UNRECORDED))
    throw new RunError(
      `cannot resume: the run used model ${header.model.id} (sha256 ${header.model.sha256.slice(0, 12)}…), this is another`,
    );
  const more = request.maxEvaluations ?? 0;
  const options = resolveOptions({
    ...header.options,
    iters: checkpoint.iter + request.iters,
    timeLimit: request.timeLimit ?? 0,
    maxEvaluations: more > 0 ? checkpoint.evaluations + more : 0,
  });
  const { bos } = header;
  checkAgainstModel(options, request.model.config, bos);
  if (request.target && request.target.spec !== header.target)
    throw new RunError(
      `cannot resume: the run dreamed ${header.target}, the target given is ${request.target.spec}`,
    );
  const targets = runTargets(request.target ?? header.target, request.model, options, bos);
  // A prompt's first values are the ones the run went on using (a member's own, from the gradient program,
  // may differ from its fitness as a child in the last float32 bit): the first occurrence wins, and only it
  // enters the frontier, as in the run that never stopped.
  const seen = new Map<string, { target: number; xent: number }>();
  const earlier: Candidate[] = [];
  for (const record of history)
    for (const c of record.candidates) {
      const key = promptKey(c.ids);
      if (seen.has(key)) continue;
      seen.set(key, { target: c.target, xent: c.xent });
      earlier.push(c);
    }
  return execute(
    { ...request, target: header.target, options },
    options,
    targets,
    bos,
    async () => {
      for (const m of checkpoint.population)
        if (!seen.has(promptKey(m.ids))) seen.set(promptKey(m.ids), { target: m.target, xent: m.xent });
      return {
        iter: checkpoint.iter,
        population: checkpoint.population.map((m) => ({ ...m, ids: [...m.ids] })),
        rng: new Rng(checkpoint.rng),
        seen,
        evaluations: checkpoint.evaluations,
      };
    },
    { checkpoint, frontier: nondominatedFrontier(earlier) },
  );
}

/** A run's contexts (context.ts: one per template, else one) and its target parsed for each. */
export interface RunTargets {
  spec: string;
  contexts: SequenceContext[];
  targets: Target[];
}

/**
 * A run's target, parsed against each of its contexts' sequences: the BOS (if any), a template's fixed
 * tokens around the optimized ones, and a continuation target's text after them.
 */
export function runTargets(
  spec: string | Target,
  model: Model,
  options: EpoOptions,
  bos: number | null,
): RunTargets {
  const continuation =
    typeof spec === 'string' ? (continuationIds(spec, model) ?? []) : [...(spec.continuation ?? [])];
  const contexts = runContexts(model, options.templates, continuation, { seqLen: options.seqLen, bos });
  const lead = bos === null ? 0 : 1;
  const targets = contexts.map((c) =>
    parseTarget(spec, { model, seqLen: lead + c.before.length + options.seqLen + c.after.length }),
  );
  return { spec: (targets[0] as Target).spec, contexts, targets };
}

/** A run's target as parsed for its first context (its only one, without templates). */
export function parseRunTarget(
  spec: string | Target,
  model: Model,
  options: EpoOptions,
  bos: number | null,
): Target {
  return runTargets(spec, model, options, bos).targets[0] as Target;
}

/** The BOS id a run puts before the optimized tokens, or null (options.bos, else the tokenizer's default). */
export function resolveBos(model: Model, options: EpoOptions): number | null {
  const tokenizer = model.tokenizer;
  const wanted = options.bos ?? tokenizer?.addsBosByDefault ?? false;
  if (!wanted) return null;
  if (tokenizer?.bosId === undefined) throw new RunError(`model ${model.id} has no BOS token; use --no-bos`);
  return tokenizer.bosId;
}

function checkPrompt(model: Model, ids: readonly number[], seqLen: number): number[] {
  const V = model.config.vocabSize;
  if (ids.length !== seqLen)
    throw new RunError(`an initial prompt is ${ids.length} tokens, expected ${seqLen} (--seq-len)`);
  const bad = ids.find((id) => !(Number.isInteger(id) && id >= 0 && id < V));
  if (bad !== undefined) throw new RunError(`an initial prompt holds token ${bad}, outside 0..${V - 1}`);
  return [...ids];
}

function encodePrompt(model: Model, text: string, seqLen: number): number[] {
  if (!model.tokenizer) throw new RunError(`model ${model.id} has no tokenizer to encode the initial prompt`);
  const ids = model.tokenizer.encode(text, { bos: false });
  if (ids.length !== seqLen)
    throw new RunError(
      `the initial prompt is ${ids.length} tokens, expected ${seqLen} (--seq-len): ${JSON.stringify(text)}`,
    );
  return ids;
}

/** What evaluates a run's prompts: over one context, or over several (ContextsEvaluator). */
export type RunEvaluator = ModelEvaluator | ContextsEvaluator;

/**
 * What a run steps EPO with: the evaluator (one per context, combined where there are several), the tokens
 * it may propose, and the round-trip check where asked for. Resolves `options.topk` (the evaluator caps it at
 * the tokens that may be proposed: stories260K allows 509 of 512) and `options.threads` (part of what makes a
 * run replay, so run.json records the one used) in place.
 */
export async function openEvaluator(
  model: Model,
  { contexts, targets }: RunTargets,
  options: EpoOptions,
  bos: number | null,
  profilePrefix?: string,
  runtime?: Runtime,
): Promise<{ evaluator: RunEvaluator; allowed: number[]; accept?: AcceptChild }> {
  const policy = tokenPolicy(model.config.vocabSize, model.tokenizer, options.ascii);
  options.threads ??= defaultThreads(model.config);
  const several = contexts.length > 1;
  const parts: ModelEvaluator[] = [];
  for (const [i, { before, after }] of contexts.entries())
    parts.push(
      await ModelEvaluator.create(model, targets[i] as Target, {
        seqLen: options.seqLen,
        ...(bos === null ? {} : { bos }),
        prefix: before,
        suffix: after,
        topk: resolveTopk(options.topk, policy.allowed.length),
        banned: policy.banned,
        threads: options.threads,
        evaluation: options.evaluation === 'auto' ? defaultEvaluation(model.config) : options.evaluation,
        argmax: false,
        likely: options.likelyShare > 0,
        scores: several,
        ...(profilePrefix && { profilePrefix: several ? `${profilePrefix}-context${i + 1}` : profilePrefix }),
        ...(runtime && { runtime }),
      }),
    );
  const evaluator = several ? new ContextsEvaluator(parts) : (parts[0] as ModelEvaluator);
  options.topk = evaluator.topk;
  const tokenizer = model.tokenizer;
  return {
    evaluator,
    allowed: policy.allowed,
    ...(options.roundTrip && tokenizer && { accept: (ids: readonly number[]) => roundTrips(tokenizer, ids) }),
  };
}

/** The state a resume continues from, as plain data (the population's gradients as they were). */
function checkpointOf(state: EpoState, seconds: number, dropped: number): Checkpoint {
  return {
    iter: state.iter,
    rng: state.rng.state(),
    evaluations: state.evaluations,
    seconds,
    dropped,
    population: state.population.map(({ ids, target, xent, penalty, topk, likely }) => ({
      ids: [...ids],
      target,
      xent,
      penalty,
      topk,
      ...(likely && { likely }),
    })),
  };
}

const scored = ({ ids, target, xent }: Candidate): Candidate => ({ ids, target, xent });

/** A NaN or infinite target or xent ends the run, naming the first such candidate (nothing is recorded). */
function checkFinite(record: IterationRecord, model: Model): void {
  const bad = record.candidates.find((c) => !Number.isFinite(c.target) || !Number.isFinite(c.xent));
  if (bad)
    throw new RunError(
      `iteration ${record.iter}: the candidate ${JSON.stringify(textOf(model, bad.ids))} (ids ${bad.ids.join(',')}) ` +
        `has target ${bad.target} and xent ${bad.xent}; the model or target gives non-finite values there`,
    );
}

async function execute(
  request: DreamRequest,
  options: EpoOptions,
  targets: RunTargets,
  bos: number | null,
  start: (evaluator: RunEvaluator, allowed: number[]) => Promise<EpoState>,
  previous?: { checkpoint: Checkpoint; frontier: Candidate[] },
): Promise<DreamResult> {
  const { model, sink } = request;
  const kept: IterationRecord[] | undefined = sink ? undefined : [];
  const { evaluator, allowed, accept } = await openEvaluator(
    model,
    targets,
    options,
    bos,
    request.profilePrefix,
    request.runtime,
  );
  const started = performance.now();
  const elapsed = () => (previous?.checkpoint.seconds ?? 0) + (performance.now() - started) / 1000;
  let dropped = previous?.checkpoint.dropped ?? 0;
  const frontierPool: Candidate[] = [...(previous?.frontier ?? [])];
  const header: RunHeader = {
    version: RUN_VERSION,
    model: { id: model.id, sha256: request.modelSha256 ?? UNRECORDED },
    target: targets.spec,
    options,
    seed: options.seed,
    bos,
    evaluation: evaluator.evaluation,
  };
  const goal = request.goal;
  let reached: GoalReached | null = null;
  /** Whether the run ends at its goal, checked on the population of `state` (once met, no more). */
  const atGoal = async (state: EpoState): Promise<boolean> => {
    if (!goal || reached) return false;
    const at = { iterations: state.iter, seconds: elapsed() };
    const met = await goal.check(state.population, at);
    if (!met) return false;
    reached = { ...scored(met), text: textOf(model, met.ids), ...at };
    return goal.stop;
  };
  try {
    const state = await start(evaluator, allowed);
    frontierPool.push(...state.population.map(scored));
    sink?.begin?.(header, checkpointOf(state, elapsed(), dropped));
    let done = await atGoal(state);
    while (!done && state.iter < options.iters) {
      if (request.shouldStop?.()) break;
      if (options.timeLimit > 0 && (performance.now() - started) / 1000 >= options.timeLimit) break;
      if (options.maxEvaluations > 0 && state.evaluations >= options.maxEvaluations) break;
      const record = await stepEpo(state, evaluator, options, accept);
      checkFinite(record, model);
      dropped += record.dropped;
      sink?.iteration(record, checkpointOf(state, elapsed(), dropped));
      kept?.push(record);
      frontierPool.push(...record.candidates.slice(state.population.length));
      if (frontierPool.length > 4096)
        frontierPool.splice(0, frontierPool.length, ...nondominatedFrontier(frontierPool));
      request.onProgress?.({
        record,
        total: options.iters,
        state,
        evaluationsPerSecond: record.candidates.length / Math.max(record.seconds, 1e-9),
      });
      done = await atGoal(state);
    }
    const summary: RunSummary = {
      ...header,
      iterations: state.iter,
      seconds: elapsed(),
      evaluations: state.evaluations,
      dropped,
      population: state.population.map((m) => ({
        ...scored(m),
        text: textOf(model, m.ids),
        penalty: m.penalty,
      })),
      frontier: nondominatedFrontier(frontierPool).map((c) => ({ ...scored(c), text: textOf(model, c.ids) })),
      ...(goal && { goal: { name: goal.name, reached } }),
    };
    sink?.end?.(summary);
    return kept ? { ...summary, history: kept } : summary;
  } finally {
    await evaluator.dispose();
  }
}
