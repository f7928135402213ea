/**
 * EPO's programs with fixed context around the optimized tokens (a template's opening and ending, a
 * continuation target's text): the ranking against autodiff through a one-hot over the whole sequence, the
 * xent over the optimized tokens only, the continuation targets against their definitions, incremental
 * evaluation against full, and several contexts at once against the sum of their gradients.
 */
import { describe, expect, it } from 'vitest';
import { withGradients, type Child } from '../../src/dream/epo.ts';
import { ContextsEvaluator } from '../../src/dream/engine/contexts.ts';
import { ModelEvaluator, type EvaluatorOptions } from '../../src/dream/engine/evaluator.ts';
import { gradientDefinition } from '../../src/dream/engine/gradient.ts';
import { input, Rng } from '../../src/graph/index.ts';
import { loadModel } from '../../src/models/load.ts';
import type { Model } from '../../src/models/model.ts';
import { parseTarget, type Target } from '../../src/objectives/target.ts';
import { compile } from '../../src/runtime/index.ts';

const SEQ_LEN = 5;
const TOPK = 5;
const TEXT = [11, 4, 20];

/** A context: the fixed tokens before the optimized ones (BOS first, where used) and after them. */
interface Context {
  before: number[];
  after: number[];
}

const CASES = [
  // a template's opening and ending, then the continuation, after a BOS
  { fixture: 'llama-tiny-random', bos: 1, prefix: [5, 9], suffix: [7, 3] },
  // nothing before the optimized tokens: position 0 has no xent term and no label term
  { fixture: 'gpt-neox-tiny-random', bos: undefined, prefix: [], suffix: [8] },
] as const;

const lengthOf = (c: Context) => c.before.length + SEQ_LEN + c.after.length;

/** Per sequence, the logits [T,V] of the whole model. */
async function logitsOf(model: Model, sequences: number[][]): Promise<Float32Array[]> {
  const T = (sequences[0] as number[]).length;
  const V = model.config.vocabSize;
  const ids = input('ids', 'int64', [sequences.length, T]);
  const session = await compile({ outputs: { logits: model.build({ tokens: ids }).logits! }, threads: 1 });
  try {
    const out = await session.run({
      ids: {
        dtype: 'int64',
        shape: [sequences.length, T],
        data: BigInt64Array.from(sequences.flat(), BigInt),
      },
    });
    const data = out['logits']!.data as Float32Array;
    return sequences.map((_, b) => data.slice(b * T * V, (b + 1) * T * V));
  } finally {
    await session.dispose();
  }
}

const logSoftmax = (row: Float32Array): number[] => {
  const top = Math.max(...row);
  const sum = row.reduce((s, v) => s + Math.exp(v - top), 0);
  return Array.from(row, (v) => v - top - Math.log(sum));
};

/** −∂loss/∂onehot [B,T,V] by autodiff through a one-hot of the whole sequence, xent over [first, end). */
async function oracle(
  model: Model,
  target: Target,
  sequences: number[][],
  penalties: number[],
  span: { first: number; end: number },
): Promise<Float32Array> {
  const [B, T, V] = [sequences.length, (sequences[0] as number[]).length, model.config.vocabSize];
  const session = await compile({ outputs: gradientDefinition(model, target, T, span), threads: 1 });
  try {
    const data = new Float32Array(B * T * V);
    sequences.forEach((row, b) => row.forEach((id, t) => (data[(b * T + t) * V + id] = 1)));
    const out = await session.run({
      onehot: { dtype: 'float32', shape: [B, T, V], data },
      penalties: { dtype: 'float32', shape: [B], data: Float32Array.from(penalties) },
    });
    return out['favour']!.data as Float32Array;
  } finally {
    await session.dispose();
  }
}

/** The k largest entries' indices, most favoured first. */
const topk = (row: ArrayLike<number>, k: number): number[] =>
  Array.from({ length: row.length }, (_, v) => v)
    .sort((a, b) => (row[b] as number) - (row[a] as number))
    .slice(0, k);

async function setUp(fixture: string, bos: number | undefined, context: Context, spec: string, seed = 3) {
  const model = await loadModel(`../shared/fixtures/${fixture}`);
  const V = model.config.vocabSize;
  const full: Context = {
    before: [...(bos === undefined ? [] : [bos]), ...context.before],
    after: context.after,
  };
  const target = parseTarget(spec, { model, seqLen: lengthOf(full) });
  const rng = new Rng(seed);
  const prompts = Array.from({ length: 3 }, () => Array.from({ length: SEQ_LEN }, () => 3 + rng.int(V - 3)));
  const options: EvaluatorOptions = {
    seqLen: SEQ_LEN,
    ...(bos === undefined ? {} : { bos }),
    prefix: context.before,
    suffix: context.after,
    topk: TOPK,
    banned: Array.from({ length: V }, () => false),
    threads: 1,
  };
  const sequences = prompts.map((p) => [...full.before, ...p, ...full.after]);
  return { model, V, full, target, prompts, options, sequences };
}

describe.each(CASES)('EPO with fixed context on $fixture', ({ fixture, bos, prefix, suffix }) => {
  const context = { before: [...prefix], after: [...suffix, ...TEXT] };
  const spec = `continuation:#${TEXT.join(',#')}`;

  it('ranks the optimized tokens as autodiff through the whole sequence does, the xent over them only', async () => {
    const { model, V, full, target, prompts, options, sequences } = await setUp(fixture, bos, context, spec);
    const evaluator = await ModelEvaluator.create(model, target, options);
    try {
      expect(evaluator.full(prompts[0]!)).toEqual(sequences[0]);
      const penalties = [0.4, 5, 1.5];
      const { topk: got, target: value, xent } = await evaluator.gradient(prompts, penalties);
      const P = full.before.length;
      const T = lengthOf(full);
      const span = { first: Math.max(P, 1), end: P + SEQ_LEN };
      const favour = await oracle(model, target, sequences, penalties, span);
      const logits = await logitsOf(model, sequences);
      prompts.forEach((_, b) => {
        const expected = Array.from({ length: SEQ_LEN }, (_, i) => {
          const at = (b * T + P + i) * V;
          return topk(favour.subarray(at, at + V), TOPK);
        });
        expect(Array.from(got[b]!)).toEqual(expected.flat());
        // the xent: the optimized tokens that have a prediction, each after everything before it
        const row = (t: number) => logSoftmax(logits[b]!.subarray((t - 1) * V, t * V));
        let sum = 0;
        for (let t = span.first; t < span.end; t++) sum -= row(t)[sequences[b]![t]!]!;
        expect(xent[b]).toBeCloseTo(sum / (span.end - span.first), 4);
        // the target: the text's mean log-probability, teacher-forced at the end of the sequence
        const forced = TEXT.reduce((s, y, i) => s + row(T - TEXT.length + i)[y]!, 0) / TEXT.length;
        expect(value[b]).toBeCloseTo(forced, 4);
      });
    } finally {
      await evaluator.dispose();
    }
  });

  it('gives each child from its parent’s cached prefix what full evaluation gives', async () => {
    const { model, V, prompts, options, target } = await setUp(fixture, bos, context, spec, 5);
    const incremental = await ModelEvaluator.create(model, target, { ...options, evaluation: 'incremental' });
    const whole = await ModelEvaluator.create(model, target, { ...options, evaluation: 'full' });
    try {
      expect(incremental.evaluation).toBe('incremental');
      await withGradients(
        incremental,
        prompts,
        prompts.map(() => 1),
      );
      const rng = new Rng(9);
      const children: Child[] = prompts.flatMap((parent) =>
        parent.map((id, position) => {
          const ids = [...parent];
          ids[position] = 3 + ((id - 3 + 1 + rng.int(V - 4)) % (V - 3));
          return { ids, parent, position };
        }),
      );
      const got = await incremental.fitness(children);
      const expected = await whole.evaluate(children.map((c) => c.ids));
      children.forEach((_, i) => {
        expect(got.target[i]).toBeCloseTo(expected.target[i]!, 4);
        expect(got.xent[i]).toBeCloseTo(expected.xent[i]!, 4);
      });
    } finally {
      await incremental.dispose();
      await whole.dispose();
    }
  });
});

describe('the continuation targets', () => {
  it.each(['min', 'mellowmax', 'margin'] as const)(
    'continuation-%s is its definition over the text’s teacher-forced logits',
    async (loss) => {
      const context = { before: [5], after: [7, ...TEXT] };
      const spec = `continuation-${loss}:#${TEXT.join(',#')}`;
      const { model, V, full, target, options, sequences } = await setUp(
        'llama-tiny-random',
        1,
        context,
        spec,
      );
      const evaluator = await ModelEvaluator.create(model, target, options);
      try {
        const { target: value } = await evaluator.evaluate(sequences.map((s) => s.slice(2, 2 + SEQ_LEN)));
        const logits = await logitsOf(model, sequences);
        const T = lengthOf(full);
        sequences.forEach((_, b) => {
          const raw = (i: number) =>
            logits[b]!.subarray((T - TEXT.length + i - 1) * V, (T - TEXT.length + i) * V);
          const losses = TEXT.map((y, i) => -logSoftmax(raw(i))[y]!);
          const margins = TEXT.map(
            (y, i) => raw(i)[y]! - Math.max(...Array.from(raw(i)).filter((_, v) => v !== y)),
          );
          const expected = {
            min: -Math.max(...losses),
            mellowmax: -Math.log(losses.reduce((s, l) => s + Math.exp(l), 0) / losses.length),
            margin: margins.reduce((s, m) => s + Math.min(m, 1), 0) / margins.length,
          }[loss];
          expect(value[b]).toBeCloseTo(expected, 4);
        });
      } finally {
        await evaluator.dispose();
      }
    },
  );
});

describe('one prompt in several contexts', () => {
  it('has the mean target and xent of its contexts, and the top-k of their summed gradients', async () => {
    const spec = 'blocks.1.mlp.hook_post[3]';
    const contexts: Context[] = [
      { before: [5, 9], after: [7] },
      { before: [12], after: [3, 30, 2] },
    ];
    const parts = await Promise.all(contexts.map((c) => setUp('llama-tiny-random', 1, c, spec, 4)));
    const evaluators = await Promise.all(
      parts.map((p) => ModelEvaluator.create(p.model, p.target, { ...p.options, scores: true })),
    );
    const alone = await Promise.all(parts.map((p) => ModelEvaluator.create(p.model, p.target, p.options)));
    const combined = new ContextsEvaluator(evaluators);
    try {
      const { prompts, model, V } = parts[0]!;
      const penalties = [0.4, 5, 1.5];
      const got = await combined.gradient(prompts, penalties);
      const each = await Promise.all(alone.map((e) => e.evaluate(prompts)));
      const favours = await Promise.all(
        parts.map((p) => {
          const P = p.full.before.length;
          return oracle(model, p.target, p.sequences, penalties, { first: P, end: P + SEQ_LEN });
        }),
      );
      prompts.forEach((_, b) => {
        expect(got.target[b]).toBeCloseTo((each[0]!.target[b]! + each[1]!.target[b]!) / 2, 4);
        expect(got.xent[b]).toBeCloseTo((each[0]!.xent[b]! + each[1]!.xent[b]!) / 2, 4);
        const expected = Array.from({ length: SEQ_LEN }, (_, i) => {
          const sum = new Float32Array(V);
          parts.forEach((p, k) => {
            const T = lengthOf(p.full);
            const at = (b * T + p.full.before.length + i) * V;
            for (let v = 0; v < V; v++) sum[v]! += favours[k]![at + v]!;
          });
          return topk(sum, TOPK);
        });
        expect(Array.from(got.topk[b]!)).toEqual(expected.flat());
      });
      const children: Child[] = prompts.map((parent) => ({
        ids: [...parent.slice(0, 2), 40, ...parent.slice(3)],
        parent,
        position: 2,
      }));
      const fitness = await combined.fitness(children);
      const direct = await Promise.all(alone.map((e) => e.evaluate(children.map((c) => c.ids))));
      children.forEach((_, i) => {
        expect(fitness.target[i]).toBeCloseTo((direct[0]!.target[i]! + direct[1]!.target[i]!) / 2, 4);
        expect(fitness.xent[i]).toBeCloseTo((direct[0]!.xent[i]! + direct[1]!.xent[i]!) / 2, 4);
      });
    } finally {
      await combined.dispose();
      for (const e of alone) await e.dispose();
    }
  });
});
