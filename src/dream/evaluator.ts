import type { Model } from '../models/model.ts';
import type { Target } from '../objectives/target.ts';
import { compile, type HostTensor, type Session } from '../runtime/index.ts';
import type { EpoEvaluator } from './epo.ts';
import { fitnessProgram, gradientProgram } from './programs.ts';

export interface EvaluatorOptions {
  /** Optimized tokens per prompt. */
  seqLen: number;
  /** A fixed BOS id before the optimized tokens, or none. */
  bos?: number;
  topk: number;
  banned: readonly boolean[];
  threads?: number;
}

const numbers = (t: HostTensor | undefined): number[] => Array.from(t?.data as Float32Array, Number);

/** EPO's two compiled programs over one model and target: one ONNX Runtime run per batch each. */
export class ModelEvaluator implements EpoEvaluator {
  private constructor(
    readonly seqLen: number,
    readonly topk: number,
    private readonly bos: number | undefined,
    private readonly fitnessSession: Session,
    private readonly gradientSession: Session,
  ) {}

  static async create(model: Model, target: Target, options: EvaluatorOptions): Promise<ModelEvaluator> {
    const fixedPrefix = options.bos === undefined ? 0 : 1;
    const program = {
      length: options.seqLen + fixedPrefix,
      fixedPrefix,
      topk: options.topk,
      banned: options.banned,
    };
    const threads = options.threads;
    const fitness = await compile({
      outputs: fitnessProgram(model, target, program),
      ...(threads && { threads }),
    });
    const gradient = await compile({
      outputs: gradientProgram(model, target, program),
      ...(threads && { threads }),
    });
    return new ModelEvaluator(options.seqLen, options.topk, options.bos, fitness, gradient);
  }

  /** Full sequences [B, BOS? + seqLen] as int64. */
  private feed(prompts: readonly number[][]): HostTensor {
    const prefix = this.bos === undefined ? [] : [this.bos];
    const rows = prompts.map((p) => [...prefix, ...p]);
    const length = this.seqLen + prefix.length;
    for (const row of rows)
      if (row.length !== length)
        throw new Error(`a prompt has ${row.length - prefix.length} tokens, expected ${this.seqLen}`);
    return {
      dtype: 'int64',
      shape: [rows.length, length],
      data: BigInt64Array.from(rows.flat(), (v) => BigInt(v)),
    };
  }

  async fitness(
    prompts: readonly number[][],
  ): Promise<{ target: number[]; xent: number[]; argmax: number[] }> {
    const out = await this.fitnessSession.run({ ids: this.feed(prompts) });
    return { target: numbers(out.target), xent: numbers(out.xent), argmax: numbers(out.argmax) };
  }

  async gradient(prompts: readonly number[][], penalties: readonly number[]) {
    const out = await this.gradientSession.run({
      ids: this.feed(prompts),
      penalties: { dtype: 'float32', shape: [prompts.length], data: Float32Array.from(penalties) },
    });
    const indices = out.topk?.data as BigInt64Array;
    const per = this.seqLen * this.topk;
    const topk = prompts.map((_, b) => Int32Array.from(indices.subarray(b * per, (b + 1) * per), Number));
    return { target: numbers(out.target), xent: numbers(out.xent), topk };
  }

  async dispose(): Promise<void> {
    await this.fitnessSession.dispose();
    await this.gradientSession.dispose();
  }
}
