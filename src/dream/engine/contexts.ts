/**
 * EPO over one prompt in several contexts at once (repeated templates; flrt's tasks): each context has its
 * own evaluator (its own programs, sequence length and prefix caches), and a prompt's target and xent are
 * their means over the contexts. Its gradient ranking is that of the mean loss: each context's evaluator
 * gives its scores, −∂loss/∂onehot/λ (ProgramOptions.scores), which add up over contexts before the top-k
 * is taken here, as are the model's log-probabilities for the likeliest tokens.
 */
import type { Child, EpoEvaluator, Evaluated } from '../epo.ts';
import type { Evaluation, ModelEvaluator } from './evaluator.ts';

/** Indices of the k largest values of `scores`, largest first (ties: the lower index first). */
export function topIndices(scores: Float32Array, k: number): Int32Array {
  const order = Array.from(scores.keys());
  const threshold =
    k >= scores.length ? -Infinity : (Float32Array.from(scores).sort()[scores.length - k] as number);
  return Int32Array.from(
    order
      .filter((i) => (scores[i] as number) >= threshold)
      .sort((a, b) => (scores[b] as number) - (scores[a] as number) || a - b)
      .slice(0, k),
  );
}

/** Per position of `seqLen`, the top-k of the summed [seqLen × V] scores. */
function rankSummed(parts: readonly Float32Array[], seqLen: number, k: number): Int32Array {
  const sum = Float32Array.from(parts[0] as Float32Array);
  for (const part of parts.slice(1)) for (let i = 0; i < sum.length; i++) sum[i]! += part[i] as number;
  const V = sum.length / seqLen;
  const out = new Int32Array(seqLen * k);
  for (let t = 0; t < seqLen; t++) out.set(topIndices(sum.subarray(t * V, (t + 1) * V), k), t * k);
  return out;
}

const mean = (values: readonly number[][]): number[] =>
  (values[0] as number[]).map((_, i) => values.reduce((s, v) => s + (v[i] as number), 0) / values.length);

export class ContextsEvaluator implements EpoEvaluator {
  /** The evaluators of each context, built with EvaluatorOptions.scores. */
  constructor(private readonly parts: readonly ModelEvaluator[]) {
    if (parts.length < 2) throw new Error('ContextsEvaluator takes two contexts or more');
  }

  get seqLen(): number {
    return (this.parts[0] as ModelEvaluator).seqLen;
  }

  get topk(): number {
    return (this.parts[0] as ModelEvaluator).topk;
  }

  get evaluation(): Evaluation {
    return (this.parts[0] as ModelEvaluator).evaluation;
  }

  async gradient(
    prompts: readonly (readonly number[])[],
    penalties: readonly number[],
  ): Promise<Evaluated & { topk: Int32Array[]; likely?: Int32Array[] }> {
    type Scores = Awaited<ReturnType<ModelEvaluator['scores']>>;
    const each: Scores[] = [];
    for (const part of this.parts) each.push(await part.scores(prompts, penalties));
    const first = each[0] as Scores;
    const ranked = (pick: (e: Scores) => Float32Array[] | undefined) =>
      prompts.map((_, b) =>
        rankSummed(
          each.map((e) => (pick(e) as Float32Array[])[b] as Float32Array),
          this.seqLen,
          this.topk,
        ),
      );
    return {
      target: mean(each.map((e) => e.target)),
      xent: mean(each.map((e) => e.xent)),
      // where the top-k takes every allowed token, each context's evaluator ranks none: the allowed tokens
      topk: first.favour ? ranked((e) => e.favour) : prompts.map(() => this.parts[0]!.everyAllowed()),
      ...(first.likely && { likely: ranked((e) => e.likely) }),
    };
  }

  async fitness(children: readonly Child[]): Promise<Evaluated> {
    const each: Evaluated[] = [];
    for (const part of this.parts) each.push(await part.fitness(children));
    return { target: mean(each.map((e) => e.target)), xent: mean(each.map((e) => e.xent)) };
  }

  /** Each prompt in every context: the fixed tokens before it, its tokens, the fixed tokens after. */
  full(prompt: readonly number[]): number[][] {
    return this.parts.map((p) => p.full(prompt));
  }

  async dispose(): Promise<void> {
    for (const part of this.parts) await part.dispose();
  }
}
