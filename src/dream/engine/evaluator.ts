import { availableParallelism } from 'node:os';
import type { ModelConfig } from '../../io/hf-config.ts';
import type { Model } from '../../models/model.ts';
import { macsPerToken } from '../../models/size.ts';
import type { Target } from '../../objectives/target.ts';
import { compile, type CompileOptions, type HostTensor, type Session } from '../../runtime/index.ts';
import type { Child, EpoEvaluator } from '../epo.ts';
import { evaluatePacked, incrementalProgram, type PackedChild, type PrefixCache } from './incremental.ts';
import { fitnessProgram, gradientProgram, VOCAB_BLOCK, type ProgramOptions } from './programs.ts';

/** How EPO evaluates children: from scratch, or from their parents' cached prefixes (incremental.ts). */
export type Evaluation = 'full' | 'incremental';

export interface EvaluatorOptions {
  /** Optimized tokens per prompt. */
  seqLen: number;
  /** A fixed BOS id before the optimized tokens, or none. */
  bos?: number;
  topk: number;
  banned: readonly boolean[];
  threads?: number;
  /** Default 'full'. 'incremental' falls back to 'full' for a target that reads logits other than last. */
  evaluation?: Evaluation;
  /** `fitness` also returns the final-token argmax (default true). */
  argmax?: boolean;
  /**
   * Bytes of its largest buffers a run may form at once (default 96 MiB): batches are split into runs to
   * stay within it. See ACTIVATION_BYTES_PER_RUN.
   */
  activationBytesPerRun?: number;
  /** Write ONNX Runtime's profile of each program (JSON, Chrome trace format) to files with this prefix. */
  profilePrefix?: string;
}

/**
 * The evaluation EPO uses for a model by default: incremental. It does about half the FLOPs of full
 * evaluation, and its extra work (gathers per block, cache transfers) costs less than the positions it
 * saves even where a run is all overhead: measured here (`npm run bench -- epo`, README), it is 1.73–1.78×
 * faster on the Pythia-70m shape, ~1.3× on stories260K, and as fast on the 2-layer fixtures (0.26 MFLOP a
 * token).
 * The choice depends on nothing but the model, so that runs replay exactly.
 */
export const defaultEvaluation = (_config: ModelConfig): Evaluation => 'incremental';

/**
 * Intra-op threads for a model when none are asked for: one for tiny models, whose runs are too short to
 * share (stories260K, ~0.3 M multiply-adds a token: 44 ms an iteration on one thread, 58 ms on two, 2 cores),
 * all cores otherwise. Like the evaluation mode it depends on the model alone, so runs replay.
 */
export function defaultThreads(config: ModelConfig): number {
  return macsPerToken(config) < 4e6 ? 1 : availableParallelism();
}

/**
 * Bytes of its largest buffers a run forms at once, by default. Without ONNX Runtime's arena these are
 * allocated and returned with each run, so they set the transient part of a run's memory — and more than
 * that: the C allocator keeps freed buffers under its mmap threshold (32 MiB at most) for reuse, so the
 * process's peak grows with them (`npm run bench -- memory`: 1002–1064 MiB at 64 MiB before the gradient
 * program formed fewer vocabulary-wide buffers, 955 after; 1100–1210 at 96).
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

/** EPO's compiled programs over one model and target: one ONNX Runtime run per batch each. */
export class ModelEvaluator implements EpoEvaluator {
  readonly incremental?: EpoEvaluator['incremental'];
  private fitnessSession?: Promise<Session>;
  /** The gradient program for batches with a penalty of 0 (see ProgramOptions.zeroPenalties), when first needed. */
  private zeroPenaltySession?: Promise<Session>;
  private allowedTopk?: Int32Array;
  private disposeIncremental?: () => Promise<void>;
  private readonly length: number;
  /** Token rows a fitness run takes at most, and a gradient run. */
  private readonly maxRows: number;
  private readonly maxGradientRows: number;

  private constructor(
    private readonly model: Model,
    private readonly target: Target,
    readonly seqLen: number,
    readonly topk: number,
    private readonly bos: number | undefined,
    private readonly program: ProgramOptions,
    private readonly compileOptions: Omit<CompileOptions, 'outputs'>,
    private readonly gradientSession: Session,
    readonly evaluation: Evaluation,
    incrementalSession: Session | undefined,
    activationBytesPerRun: number,
  ) {
    this.length = program.length;
    const perRow = bytesPerRow(model.config);
    this.maxRows = Math.max(1, Math.floor(activationBytesPerRun / perRow.fitness));
    this.maxGradientRows = Math.max(1, Math.floor(activationBytesPerRun / perRow.gradient));
    if (incrementalSession) {
      const shape = {
        length: this.length,
        hidden: model.config.hidden,
        layers: model.config.layers,
        hooks: target.hooks,
        maxRows: this.maxRows,
      };
      this.incremental = {
        fitness: (children) =>
          evaluatePacked(
            incrementalSession,
            children.map((c) => this.packed(c)),
            shape,
          ),
        caches: async (members) => {
          const { caches } = await this.run(
            members.map((m) => m.ids),
            members.map((m) => m.penalty),
          );
          return caches ?? [];
        },
      };
      this.disposeIncremental = () => incrementalSession.dispose();
    }
  }

  static async create(model: Model, target: Target, options: EvaluatorOptions): Promise<ModelEvaluator> {
    const fixedPrefix = options.bos === undefined ? 0 : 1;
    const allowed = options.banned.filter((b) => !b).length;
    const topk = Math.min(options.topk, allowed); // a banned token is never proposed
    const length = options.seqLen + fixedPrefix;
    const incremental =
      options.evaluation === 'incremental' ? incrementalProgram(model, target, length) : undefined;
    const program: ProgramOptions = {
      length,
      fixedPrefix,
      topk,
      banned: options.banned,
      argmax: options.argmax ?? true,
      cache: incremental !== undefined,
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
    const gradient = await compile({ outputs: gradientProgram(model, target, program), ...compileOptions });
    const incrementalSession = incremental && (await compile({ outputs: incremental, ...compileOptions }));
    const evaluator = new ModelEvaluator(
      model,
      target,
      options.seqLen,
      topk,
      options.bos,
      program,
      compileOptions,
      gradient,
      incrementalSession ? 'incremental' : 'full',
      incrementalSession,
      options.activationBytesPerRun ?? ACTIVATION_BYTES_PER_RUN,
    );
    if (!incrementalSession) evaluator.fitnessSession = evaluator.compileFitness();
    return evaluator;
  }

  private compileFitness(): Promise<Session> {
    return compile({
      outputs: fitnessProgram(this.model, this.target, this.program),
      ...this.compileOptions,
    });
  }

  /** Full sequences [B, BOS? + seqLen] as int64. */
  private feed(prompts: readonly number[][]): HostTensor {
    const rows = prompts.map((p) => this.full(p));
    return {
      dtype: 'int64',
      shape: [rows.length, this.length],
      data: BigInt64Array.from(rows.flat(), (v) => BigInt(v)),
    };
  }

  private full(prompt: readonly number[]): number[] {
    if (prompt.length !== this.seqLen)
      throw new Error(`a prompt has ${prompt.length} tokens, expected ${this.seqLen}`);
    return this.bos === undefined ? [...prompt] : [this.bos, ...prompt];
  }

  private packed(child: Child): PackedChild {
    const parent = child.parent.cache as PrefixCache | undefined;
    if (!parent) throw new Error('incremental evaluation needs the parent’s cache');
    return { ids: this.full(child.ids), parent, position: child.position + (this.bos === undefined ? 0 : 1) };
  }

  /** Target and xent (and, unless disabled, the final-token argmax) of each prompt, evaluated in full. */
  async fitness(
    prompts: readonly number[][],
  ): Promise<{ target: number[]; xent: number[]; argmax: number[] }> {
    this.fitnessSession ??= this.compileFitness();
    const session = await this.fitnessSession;
    const most = Math.max(1, Math.floor(this.maxRows / this.length));
    const result = { target: [] as number[], xent: [] as number[], argmax: [] as number[] };
    for (const [start, end] of equalRuns(prompts.length, Math.ceil(prompts.length / most))) {
      const out = await session.run({ ids: this.feed(prompts.slice(start, end)) });
      result.target.push(...numbers(out['target']));
      result.xent.push(...numbers(out['xent']));
      if (out['argmax']) result.argmax.push(...numbers(out['argmax']));
    }
    return result;
  }

  async gradient(
    prompts: readonly number[][],
    penalties: readonly number[],
  ): Promise<{ target: number[]; xent: number[]; topk: Int32Array[]; caches?: PrefixCache[] }> {
    return this.run(prompts, penalties);
  }

  /** The gradient program over `prompts`, in runs of at most `maxGradientRows` token rows. */
  private async run(
    prompts: readonly number[][],
    penalties: readonly number[],
  ): Promise<{ target: number[]; xent: number[]; topk: Int32Array[]; caches?: PrefixCache[] }> {
    const most = Math.max(1, Math.floor(this.maxGradientRows / this.length));
    const result = { target: [] as number[], xent: [] as number[], topk: [] as Int32Array[] };
    const caches: PrefixCache[] = [];
    for (const [start, end] of equalRuns(prompts.length, Math.ceil(prompts.length / most))) {
      const part = await this.runOnce(prompts.slice(start, end), penalties.slice(start, end));
      result.target.push(...part.target);
      result.xent.push(...part.xent);
      result.topk.push(...part.topk);
      caches.push(...(part.caches ?? []));
    }
    return this.incremental ? { ...result, caches } : result;
  }

  private async runOnce(
    prompts: readonly number[][],
    penalties: readonly number[],
  ): Promise<{ target: number[]; xent: number[]; topk: Int32Array[]; caches?: PrefixCache[] }> {
    const session = penalties.some((p) => p === 0)
      ? await (this.zeroPenaltySession ??= compile({
          outputs: gradientProgram(this.model, this.target, { ...this.program, zeroPenalties: true }),
          ...this.compileOptions,
        }))
      : this.gradientSession;
    const out = await session.run({
      ids: this.feed(prompts),
      penalties: { dtype: 'float32', shape: [prompts.length], data: Float32Array.from(penalties) },
    });
    const per = this.seqLen * this.topk;
    const indices = out['topk']?.data as Int32Array | undefined;
    const topk = prompts.map((_, b) => indices?.slice(b * per, (b + 1) * per) ?? this.everyAllowed());
    const result = { target: numbers(out['target']), xent: numbers(out['xent']), topk };
    if (!this.incremental) return result;
    return { ...result, caches: prompts.map((_, b) => this.cacheOf(out, b)) };
  }

  /** Where the top-k takes every allowed token (topkTakesAll), each position's: those tokens in id order. */
  private everyAllowed(): Int32Array {
    if (!this.allowedTopk) {
      const allowed = this.program.banned.flatMap((banned, id) => (banned ? [] : [id]));
      this.allowedTopk = Int32Array.from(
        { length: this.seqLen * this.topk },
        (_, i) => allowed[i % this.topk]!,
      );
    }
    return this.allowedTopk;
  }

  /** Member b's slice of every cache output of the gradient program (copied, so the batch can go). */
  private cacheOf(out: Record<string, HostTensor>, b: number): PrefixCache {
    const part = (name: string): Float32Array => {
      const t = out[name] as HostTensor;
      const per = t.data.length / (t.shape[0] as number);
      return (t.data as Float32Array).slice(b * per, (b + 1) * per);
    };
    const layers = Array.from({ length: this.model.config.layers }, (_, l) => l);
    return {
      queries: part('cache.queries'),
      ...(out['cache.locals'] && { locals: part('cache.locals') }),
      keys: layers.map((l) => part(`cache.keys.${l}`)),
      values: layers.map((l) => part(`cache.values.${l}`)),
      hooks: Object.fromEntries(this.target.hooks.map((h) => [h, part(`cache.hook.${h}`)])),
      logprobs: part('logprobs'),
      normalized: part('normalized'),
      logSumExp: part('logSumExp'),
    };
  }

  async dispose(): Promise<void> {
    await this.gradientSession.dispose();
    if (this.zeroPenaltySession) await (await this.zeroPenaltySession).dispose();
    await this.disposeIncremental?.();
    if (this.fitnessSession) await (await this.fitnessSession).dispose();
  }
}
