import { describe, expect, it } from 'vitest';
import { ModelEvaluator } from '../../src/dream/engine/evaluator.ts';
import { gradientDefinition } from '../../src/dream/engine/gradient.ts';
import { input, Rng } from '../../src/graph/index.ts';
import { loadModel } from '../../src/models/load.ts';
import type { Model } from '../../src/models/model.ts';
import { parseTarget, type Target } from '../../src/objectives/target.ts';
import { compile } from '../../src/runtime/index.ts';

const SEQ_LEN = 6;
const TOPK = 6;

/** −∂loss/∂onehot [B,T,V] of `ids` by the gradient program's definition (gradientDefinition). */
async function onehotGradient(
  model: Model,
  target: Target,
  ids: number[][],
  penalties: number[],
): Promise<Float32Array> {
  const [B, T, V] = [ids.length, (ids[0] as number[]).length, model.config.vocabSize];
  const session = await compile({ outputs: gradientDefinition(model, target, T), threads: 1 });
  try {
    const data = new Float32Array(B * T * V);
    ids.forEach((row, b) => row.forEach((id, t) => (data[(b * T + t) * V + id] = 1)));
    const out = await session.run({
      onehot: { dtype: 'float32', shape: [B, T, V], data },
      penalties: { dtype: 'float32', shape: [B], data: Float32Array.from(penalties) },
    });
    return out['favour']?.data as Float32Array;
  } finally {
    await session.dispose();
  }
}

/** The k largest entries' indices of each allowed row, most favoured first. */
function topk(row: Float32Array, banned: readonly boolean[], k: number): number[] {
  return Array.from(row.keys())
    .filter((v) => !banned[v])
    .sort((a, b) => (row[b] as number) - (row[a] as number))
    .slice(0, k);
}

/** A fixture, its target, a banned mask, random prompts and an evaluator of them, from a seed. */
async function setUp(
  fixture: string,
  bos: number | undefined,
  {
    seed,
    count,
    banning,
    likely = false,
  }: { seed: number; count: number; banning: boolean; likely?: boolean },
) {
  const model = await loadModel(`../shared/fixtures/${fixture}`);
  const V = model.config.vocabSize;
  const fixedPrefix = bos === undefined ? 0 : 1;
  const T = SEQ_LEN + fixedPrefix;
  const target = parseTarget('blocks.1.mlp.hook_post[3]', { model, seqLen: T });
  const rng = new Rng(seed);
  const banned = Array.from({ length: V }, (_, v) => banning && (v < 3 || rng.uniform(0, 1) < 0.2));
  const prompts = Array.from({ length: count }, () =>
    Array.from({ length: SEQ_LEN }, () => 3 + rng.int(V - 3)),
  );
  const evaluator = await ModelEvaluator.create(model, target, {
    seqLen: SEQ_LEN,
    ...(bos === undefined ? {} : { bos }),
    topk: TOPK,
    banned,
    threads: 1,
    likely,
  });
  return { model, V, T, fixedPrefix, target, banned, prompts, evaluator };
}

describe.each([
  ['llama-tiny-random', 1],
  ['gpt-neox-tiny-random', undefined],
] as const)('the gradient program on %s (BOS %s)', (fixture, bos) => {
  // Each case takes another form of the label term (see gradientProgram): weighted per member where a penalty
  // is 0, with the ban added where some token is banned, or the log-probabilities alone.
  it.each([
    { penalties: [0, 0.4, 5], banning: true },
    { penalties: [0.4, 5, 1.5], banning: true },
    { penalties: [0.4, 5, 1.5], banning: false },
  ])(
    'ranks tokens as autodiff through a one-hot does (penalties $penalties, banning $banning)',
    async ({ penalties, banning }) => {
      const { model, V, T, fixedPrefix, target, banned, prompts, evaluator } = await setUp(fixture, bos, {
        seed: 3,
        count: 3,
        banning,
      });
      try {
        const { topk: got } = await evaluator.gradient(prompts, penalties);
        const full = prompts.map((p) => (bos === undefined ? p : [bos, ...p]));
        const favour = await onehotGradient(model, target, full, penalties);
        prompts.forEach((_, b) => {
          const expected = Array.from({ length: SEQ_LEN }, (_, i) => {
            const at = (b * T + fixedPrefix + i) * V;
            return topk(favour.subarray(at, at + V), banned, TOPK);
          });
          expect(Array.from(got[b] as Int32Array)).toEqual(expected.flat());
        });
      } finally {
        await evaluator.dispose();
      }
    },
  );
});

describe('a top-k that takes every allowed token', () => {
  it('is those tokens at every position, ranked by nothing, with the target and xent still evaluated', async () => {
    const model = await loadModel('../shared/fixtures/gpt-neox-tiny-random');
    const V = model.config.vocabSize;
    const target = parseTarget('blocks.1.mlp.hook_post[3]', { model, seqLen: SEQ_LEN });
    const banned = Array.from({ length: V }, (_, v) => v % 7 === 0);
    const allowed = banned.flatMap((b, v) => (b ? [] : [v]));
    const prompts = [Array.from({ length: SEQ_LEN }, (_, i) => allowed[i * 11]!)];
    const options = { seqLen: SEQ_LEN, banned, threads: 1 };
    const everything = await ModelEvaluator.create(model, target, { ...options, topk: V });
    const ranked = await ModelEvaluator.create(model, target, { ...options, topk: allowed.length - 1 });
    try {
      expect(everything.topk).toBe(allowed.length);
      const all = await everything.gradient(prompts, [1]);
      const some = await ranked.gradient(prompts, [1]);
      expect(Array.from(all.topk[0]!)).toEqual(Array.from({ length: SEQ_LEN }, () => allowed).flat());
      expect(all.target[0]).toBeCloseTo(some.target[0]!, 5);
      expect(all.xent[0]).toBeCloseTo(some.xent[0]!, 5);
      // The ranked top-k leaves out one allowed token per position: the least favoured one.
      for (let i = 0; i < SEQ_LEN; i++) {
        const row = some.topk[0]!.subarray(i * (allowed.length - 1), (i + 1) * (allowed.length - 1));
        expect(new Set(row).size).toBe(allowed.length - 1);
        expect(Array.from(row).every((v) => !banned[v])).toBe(true);
      }
    } finally {
      await everything.dispose();
      await ranked.dispose();
    }
  });
});

describe('the likeliest tokens the gradient program also returns', () => {
  it.each([
    ['llama-tiny-random', 1],
    ['gpt-neox-tiny-random', undefined],
  ] as const)(
    'are the top-k of log p(v | tokens before) at each position on %s, banned tokens left out',
    async (fixture, bos) => {
      const { model, V, T, fixedPrefix, banned, prompts, evaluator } = await setUp(fixture, bos, {
        seed: 5,
        count: 2,
        banning: true,
        likely: true,
      });
      const ids = input('ids', 'int64', [2, T]);
      const session = await compile({
        outputs: { logits: model.build({ tokens: ids }).logits! },
        threads: 1,
      });
      try {
        const { likely } = await evaluator.gradient(prompts, [1, 1]);
        const full = prompts.flatMap((p) => (bos === undefined ? p : [bos, ...p]));
        const out = await session.run({
          ids: { dtype: 'int64', shape: [2, T], data: BigInt64Array.from(full, BigInt) },
        });
        const logits = out['logits']!.data as Float32Array;
        prompts.forEach((_, b) => {
          for (let i = 0; i < SEQ_LEN; i++) {
            const t = fixedPrefix + i;
            if (t === 0) continue; // no context: no likeliest tokens to speak of
            const row = logits.subarray((b * T + t - 1) * V, (b * T + t) * V); // the logits predicting position t
            const got = Array.from(likely![b]!.subarray(i * TOPK, (i + 1) * TOPK));
            expect(got).toEqual(topk(row, banned, TOPK));
          }
        });
      } finally {
        await evaluator.dispose();
        await session.dispose();
      }
    },
  );
});
