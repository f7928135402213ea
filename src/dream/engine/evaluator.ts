import type { ModelConfig } from '../../io/hf-config.ts';
import { parseHook } from '../../models/hooks.ts';
import type { Model } from '../../models/model.ts';
import { macsPerToken } from '../../models/size.ts';
import type { Target } from '../../objectives/target.ts';
import {
  cores,
  defaultRuntime,
  type CompileOptions,
  type HostTensor,
  type Runtime,
  type Session,
} from '../../runtime/index.ts';
import { promptKey, type Child, type EpoEvaluator, type Evaluated } from '../epo.ts';
import {
  evaluatePacked,
  incrementalProgram,
  sequenceLayout,
  type PackedChild,
  type SequenceLayout,
} from './incremental.ts';
import { PrefixCaches, sliceCache, type PrefixCache } from './prefix-cache.ts';
import { gradientProgram, topkTakesAll } from './gradient.ts';
import { fitnessProgram, VOCAB_BLOCK, type ProgramOptions } from './programs.ts';

/** How EPO evaluates children: from scratch, or from their parents' cached prefixes (incremental.ts). */
export type Evaluation = 'full' | 'incremental';

export interface EvaluatorOptions {
  /** Optimized tokens per prompt. */
  seqLen: number;
  /** A fixed BOS id before the optimized tokens, or none. */
  bos?: number;
  /** Fixed tokens after the BOS and before the optimized ones (a template's opening). */
  prefix?: readonly number[];
  /** Fixed tokens after the optimized ones (a template's ending, a continuation target's text). */
  suffix?: readonly number[];
  /**
   * `scores` gives each position's ranking scores instead of `gradient`'s top-k (see ProgramOptions.scores),
   * for ContextsEvaluator.
   */
  scores?: boolean;
  topk: number;
  banned: readonly boolean[];
  threads?: number;
  /**
   * How `fitness` evaluates children (default: defaultEvaluation). 'incremental' falls back to 'full' for a
   * target that reads logits other than at the last position.
   */
  evaluation?: Evaluation;
  /** `evaluate` also returns the final-token argmax (default true). */
  argmax?: boolean;
  /** `gradient` also returns each position's top-k likeliest tokens under the model (default false). */
  likely?: boolean;
  /** Bytes of its largest buffers a run may form at once (default ACTIVATION_BYTES_PER_RUN). */
  activationBytesPerRun?: number;
  /** Write ONNX Runtime's profile of each program (JSON, Chrome trace format) to files with this prefix. */
  profilePrefix?: string;
  /** The ONNX Runtime its programs run on (default: onnxruntime-node in Node, onnxruntime-web in a browser). */
  runtime?: Runtime;
}

/**
 * The evaluation EPO uses for a model by default: incremental. It does about half the FLOPs of full
 * evaluation, and its extra work (gathers per block, cache transfers) costs less than the positions it
 * saves even where a run is all overhead: measured here (`npm run bench -- epo`, README), it is 1.7–1.8×
 * faster on the Pythia-70m shape, ~1.2–1.3× on stories260K, and as fast on the 2-layer fixtures (0.26 MFLOP
 * a token). The choice depends on nothing but the model, so that runs replay exactly.
 */
export const defaultEvaluation = (_config: ModelConfig): Evaluation => 'incremental';

/**
 * Intra-op threads for a model when none are asked for: one for tiny models, whose runs are too short to
 * share (stories260K, ~0.3 M multiply-adds a token: 44 ms an iteration on one thread, 58 ms on two, 2 cores),
 * all cores otherwise. Like the evaluation mode it depends on the model alone, so runs replay.
 */
export function defaultThreads(config: ModelConfig): number {
  return macsPerToken(config) < 4e6 ? 1 : cores();
}

/**
 * Bytes of its largest buffers a run forms at once, by default. Without ONNX Runtime's arena these are
 * allocated and returned with each run, so they set the transient part of a run's memory — and more than
 * that: the C allocator keeps freed buffers under its mmap threshold (32 MiB at most) for reuse, so the
 * process's peak grows with them (`npm run bench -- memory`: ~950–1000 MiB at 64 MiB, 1100–1210 at 96).
 */
const ACTIVATION_BYTES_PER_RUN = 64 * 2 ** 20;

/**
 * Bytes per token row of a fitness run and of a gradient run (see ACTIVATION_BYTES_PER_RUN). A fitness row
 * holds about a block of logits (the log-softmax is computed in place), two MLP-wide and six model-wide
 * vectors. A gradient row holds two vocabulary-wide vectors (its log-softmax, then its ranking: see
 * gradientProgram) and what the backward pass keeps of each block, about two MLP-wide and ten model-wide
 * vectors (measured: ~1.1 MB a row on the Pythia-160m shape, so its 8 members take two runs; the 70m shape's
 * take one).
 */
function bytesPerRow(config: ModelConfig): { fitness: number; gradient: number } {
  const { vocabSize: V, intermediate: I, hidden: D, layers } = config;
  const block = Math.ceil(V / Math.ceil(V / VOCAB_BLOCK)); // logits are formed one block at a time
  return { fitness: 4 * (block + 2 * I + 6 * D), gradient: 4 * (2 * V + layers * (2 * I + 10 * D)) };
}

const numbers = (t: HostTensor | undefined): number[] => Array.from(t?.data as Float32Array, Number);

/** [0, n) in `runs` consecutive ranges of equal size (±1). */
function equalRuns(n: number, runs: number): [number, number][] {
  return Array.from({ length: runs }, (_, r) => [
    Math.floor((r * n) / runs),
    Math.floor(((r + 1) * n) / runs),
  ]);
}

/**
 * EPO's compiled programs over one model and target. It splits what it is given into runs of ONNX Runtime
 * that fit its memory budget, and for incremental evaluation keeps each member's prefix cache (by its ids)
 * from the gradient program's run, computing it again for a parent it does not hold (a resumed population).
 */
export class ModelEvaluator implements EpoEvaluator {
  private fitnessSession?: Promise<Session>;
  /** The gradient program for batches with a penalty of 0 (see ProgramOptions.zeroPenalties), when first needed. */
  private zeroPenaltySession?: Promise<Session>;
  private allowedTopk?: Int32Array;
  private readonly caches?: PrefixCaches;
  private readonly layout: SequenceLayout;
  private readonly fixedPrefix: number;
  /** Token rows a fitness run takes at most, and a gradient run. */
  private readonly maxRows: number;
  private readonly maxGradientRows: number;
  /** The target's hooks that are attention patterns (cached per parent, not per row). */
  private readonly patterns: ReadonlySet<string>;

  private constructor(
    private readonly model: Model,
    private readonly target: Target,
    readonly seqLen: number,
    readonly topk: number,
    /** The fixed tokens before the optimized ones (the BOS first, where used) and after them. */
    private readonly before: readonly number[],
    private readonly after: readonly number[],
    private readonly program: ProgramOptions,
    private readonly compileOptions: Omit<CompileOptions, 'outputs'>,
    private readonly runtime: Runtime,
    private readonly gradientSession: Session,
    private readonly incrementalSession: Session | undefined,
    activationBytesPerRun: number,
  ) {
    this.layout = sequenceLayout(program);
    this.fixedPrefix = program.fixedPrefix;
    const perRow = bytesPerRow(model.config);
    this.maxRows = Math.max(1, Math.floor(activationBytesPerRun / perRow.fitness));
    this.maxGradientRows = Math.max(1, Math.floor(activationBytesPerRun / perRow.gradient));
    this.patterns = new Set(
      target.hooks.filter((h) => parseHook(h, model.hookSpec).point === 'attn.hook_pattern'),
    );
    if (incrementalSession) this.caches = new PrefixCaches();
  }

  /** How `fitness` evaluates children. */
  get evaluation(): Evaluation {
    return this.incrementalSession ? 'incremental' : 'full';
  }

  static async create(model: Model, target: Target, options: EvaluatorOptions): Promise<ModelEvaluator> {
    const before = [...(options.bos === undefined ? [] : [options.bos]), ...(options.prefix ?? [])];
    const after = [...(options.suffix ?? [])];
    const allowed = options.banned.filter((b) => !b).length;
    const topk = Math.min(options.topk, allowed); // a banned token is never proposed
    const shape = {
      length: before.length + options.seqLen + after.length,
      fixedPrefix: before.length,
      fixedSuffix: after.length,
      topk,
      banned: options.banned,
    };
    const evaluation = options.evaluation ?? defaultEvaluation(model.config);
    const incremental =
      evaluation === 'incremental' ? incrementalProgram(model, target, sequenceLayout(shape)) : undefined;
    const program: ProgramOptions = {
      ...shape,
      argmax: options.argmax ?? true,
      cache: incremental !== undefined,
      likely: options.likely ?? false,
      scores: options.scores ?? false,
    };
    // Every program reads the model's weights where they are (shared, not copied per session), and returns
    // its buffers after each run: ONNX Runtime's arena would keep the largest (the logits) for good, per
    // session, in doubling regions, which costs more memory than the weights of a Pythia-160m.
    const compileOptions: Omit<CompileOptions, 'outputs'> = {
      shareWeights: true,
      memoryArena: false,
      ...(options.profilePrefix && { profilePrefix: options.profilePrefix }),
      ...(options.threads && { threads: options.threads }),
    };
    const runtime = options.runtime ?? defaultRuntime;
    const gradient = await runtime.compile({
      outputs: gradientProgram(model, target, program),
      ...compileOptions,
    });
    const incrementalSession =
      incremental && (await runtime.compile({ outputs: incremental, ...compileOptions }));
    const evaluator = new ModelEvaluator(
      model,
      target,
      options.seqLen,
      topk,
      before,
      after,
      program,
      compileOptions,
      runtime,
      gradient,
      incrementalSession,
      options.activationBytesPerRun ?? ACTIVATION_BYTES_PER_RUN,
    );
    if (!incrementalSession) evaluator.fitnessSession = evaluator.compileFitness();
    return evaluator;
  }

  private compileFitness(): Promise<Session> {
    return this.runtime.compile({
      outputs: fitnessProgram(this.model, this.target, this.program),
      ...this.compileOptions,
    });
  }

  /** Full sequences [B, T] as int64. */
  private feed(prompts: readonly (readonly number[])[]): HostTensor {
    const rows = prompts.map((p) => this.full(p));
    return {
      dtype: 'int64',
      shape: [rows.length, this.layout.length],
      data: BigInt64Array.from(rows.flat(), (v) => BigInt(v)),
    };
  }

  /** A prompt in its context: the fixed tokens before it, its tokens, the fixed tokens after. */
  full(prompt: readonly number[]): number[] {
    if (prompt.length !== this.seqLen)
      throw new Error(`a prompt has ${prompt.length} tokens, expected ${this.seqLen}`);
    return [...this.before, ...prompt, ...this.after];
  }

  /** Target and xent (and, unless disabled, the final-token argmax) of each prompt, evaluated in full. */
  async evaluate(
    prompts: readonly (readonly number[])[],
  ): Promise<{ target: number[]; xent: number[]; argmax: number[] }> {
    this.fitnessSession ??= this.compileFitness();
    const session = await this.fitnessSession;
    const most = Math.max(1, Math.floor(this.maxRows / this.layout.length));
    const result = { target: [] as number[], xent: [] as number[], argmax: [] as number[] };
    for (const [start, end] of equalRuns(prompts.length, Math.ceil(prompts.length / most))) {
      const out = await session.run({ ids: this.feed(prompts.slice(start, end)) });
      result.target.push(...numbers(out['target']));
      result.xent.push(...numbers(out['xent']));
      if (out['argmax']) result.argmax.push(...numbers(out['argmax']));
    }
    return result;
  }

  /** Target and xent of each child: from its parent's prefix cache (incremental), or in full. */
  async fitness(children: readonly Child[]): Promise<Evaluated> {
    if (!this.incrementalSession) {
      const { target, xent } = await this.evaluate(children.map((c) => c.ids));
      return { target, xent };
    }
    const parents = await this.parentCaches(children);
    const packed = children.map((c): PackedChild => ({
      ids: this.full(c.ids),
      parentIds: this.full(c.parent),
      parent: parents.get(promptKey(c.parent)) as PrefixCache,
      position: c.position + this.fixedPrefix,
    }));
    return evaluatePacked(this.incrementalSession, packed, {
      layout: this.layout,
      hidden: this.model.config.hidden,
      patterns: this.patterns,
      maxRows: this.maxRows,
    });
  }

  /** The prefix cache of every child's parent, by the parent's key; those not held computed again. */
  private async parentCaches(children: readonly Child[]): Promise<Map<string, PrefixCache>> {
    const caches = this.caches as PrefixCaches;
    caches.nextGeneration();
    const found = new Map<string, PrefixCache>();
    const missing = new Map<string, readonly number[]>();
    for (const { parent } of children) {
      const key = promptKey(parent);
      if (found.has(key) || missing.has(key)) continue;
      const cache = caches.get(parent);
      if (cache) found.set(key, cache);
      else missing.set(key, parent);
    }
    if (missing.size > 0) {
      const prompts = [...missing.values()];
      // The caches do not depend on the penalty; any positive one runs the program without its λ = 0 variant.
      const { caches: computed } = await this.run(
        prompts,
        prompts.map(() => 1),
      );
      prompts.forEach((p, i) => found.set(promptKey(p), computed[i] as PrefixCache));
    }
    return found;
  }

  async gradient(
    prompts: readonly (readonly number[])[],
    penalties: readonly number[],
  ): Promise<Evaluated & { topk: Int32Array[]; likely?: Int32Array[] }> {
    if (this.program.scores) throw new Error('this evaluator gives scores (see EvaluatorOptions.scores)');
    const { target, xent, ranked, likely } = await this.run(prompts, penalties);
    const topk = ranked.map((r) => (r as Int32Array | undefined) ?? this.everyAllowed());
    return { target, xent, topk, ...(this.program.likely && { likely: likely as Int32Array[] }) };
  }

  /**
   * Per prompt: its target, xent and, at each optimized position, the scores that rank the tokens
   * (−∂loss/∂onehot/λ, or itself at λ = 0; none where the top-k takes every allowed token) and the model's
   * log-probabilities (where `likely`), [seqLen × V] each: what ContextsEvaluator adds over contexts.
   */
  async scores(
    prompts: readonly (readonly number[])[],
    penalties: readonly number[],
  ): Promise<Evaluated & { favour?: Float32Array[]; likely?: Float32Array[] }> {
    if (!this.program.scores) throw new Error('this evaluator ranks (see EvaluatorOptions.scores)');
    const { target, xent, ranked, likely } = await this.run(prompts, penalties);
    return {
      target,
      xent,
      ...(!topkTakesAll(this.program) && { favour: ranked as Float32Array[] }),
      ...(this.program.likely && { likely: likely as Float32Array[] }),
    };
  }

  /**
   * The gradient program over `prompts`, in runs of at most `maxGradientRows` token rows, with per prompt its
   * ranking (top-k, or scores) and likeliest tokens (or their scores); for incremental evaluation each
   * prompt's prefix cache is kept.
   */
  private async run(
    prompts: readonly (readonly number[])[],
    penalties: readonly number[],
  ): Promise<
    Evaluated & {
      ranked: (Int32Array | Float32Array | undefined)[];
      likely: (Int32Array | Float32Array)[];
      caches: PrefixCache[];
    }
  > {
    const most = Math.max(1, Math.floor(this.maxGradientRows / this.layout.length));
    const result = {
      target: [] as number[],
      xent: [] as number[],
      ranked: [] as (Int32Array | Float32Array | undefined)[],
      likely: [] as (Int32Array | Float32Array)[],
      caches: [] as PrefixCache[],
    };
    const [rankedName, likelyName] = this.program.scores ? ['favour', 'likelyScores'] : ['topk', 'likely'];
    for (const [start, end] of equalRuns(prompts.length, Math.ceil(prompts.length / most))) {
      const part = prompts.slice(start, end);
      const out = await this.runOnce(part, penalties.slice(start, end));
      const ranked = out[rankedName as string]?.data as Int32Array | Float32Array | undefined;
      const likely = out[likelyName as string]?.data as Int32Array | Float32Array | undefined;
      result.target.push(...numbers(out['target']));
      result.xent.push(...numbers(out['xent']));
      part.forEach((ids, b) => {
        const per = (t: { length: number }) => t.length / part.length;
        result.ranked.push(ranked?.slice(b * per(ranked), (b + 1) * per(ranked)));
        if (likely) result.likely.push(likely.slice(b * per(likely), (b + 1) * per(likely)));
        if (!this.caches) return;
        const cache = sliceCache(out, b, this.model.config.layers, this.target.hooks);
        this.caches.set(ids, cache);
        result.caches.push(cache);
      });
    }
    return result;
  }

  private async runOnce(
    prompts: readonly (readonly number[])[],
    penalties: readonly number[],
  ): Promise<Record<string, HostTensor>> {
    const session = penalties.some((p) => p === 0)
      ? await (this.zeroPenaltySession ??= this.runtime.compile({
          outputs: gradientProgram(this.model, this.target, { ...this.program, zeroPenalties: true }),
          ...this.compileOptions,
        }))
      : this.gradientSession;
    return session.run({
      ids: this.feed(prompts),
      penalties: { dtype: 'float32', shape: [prompts.length], data: Float32Array.from(penalties) },
    });
  }

  /** Where the top-k takes every allowed token (topkTakesAll), each position's: those tokens in id order. */
  everyAllowed(): Int32Array {
    if (!this.allowedTopk) {
      const allowed = this.program.banned.flatMap((banned, id) => (banned ? [] : [id]));
      this.allowedTopk = Int32Array.from(
        { length: this.seqLen * this.topk },
        (_, i) => allowed[i % this.topk]!,
      );
    }
    return this.allowedTopk;
  }

  async dispose(): Promise<void> {
    await this.gradientSession.dispose();
    if (this.zeroPenaltySession) await (await this.zeroPenaltySession).dispose();
    await this.incrementalSession?.dispose();
    if (this.fitnessSession) await (await this.fitnessSession).dispose();
  }
}
