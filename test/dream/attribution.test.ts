import { beforeAll, describe, expect, it } from 'vitest';
import { attribute, AttributionError } from '../../src/dream/attribution.ts';
import { ModelEvaluator } from '../../src/dream/engine/evaluator.ts';
import { tokenPolicy } from '../../src/dream/tokens.ts';
import { input } from '../../src/graph/index.ts';
import { Rng } from '../../src/graph/rng.ts';
import { loadModel } from '../../src/models/load.ts';
import type { Model } from '../../src/models/model.ts';
import { parseTarget } from '../../src/objectives/target.ts';
import { compile } from '../../src/runtime/index.ts';

const TARGET = 'blocks.3.mlp.hook_post[5]';
const K = 6;
let model: Model;
let prompt: number[];

beforeAll(async () => {
  model = await loadModel('karpathy/tinyllamas/stories260K');
  const { allowed } = tokenPolicy(model.config.vocabSize, model.tokenizer, false);
  const rng = new Rng(11);
  prompt = Array.from({ length: 7 }, () => allowed[rng.int(allowed.length)]!);
});

/** The target of BOS + each prompt, one run per prompt, from a graph built here (not the fitness program). */
async function directTargets(prompts: number[][]): Promise<number[]> {
  const L = prompts[0]!.length + 1;
  const target = parseTarget(TARGET, { model, seqLen: L });
  const tokens = input('tokens', 'int64', [1, L]);
  const session = await compile({
    outputs: { t: target.value(model.build({ tokens, hooks: target.hooks })) },
    threads: 1,
  });
  const out: number[] = [];
  try {
    for (const p of prompts) {
      const r = await session.run({
        tokens: { dtype: 'int64', shape: [1, L], data: BigInt64Array.from([1, ...p], BigInt) },
      });
      out.push((r.t!.data as Float32Array)[0]!);
    }
  } finally {
    await session.dispose();
  }
  return out;
}

describe('resampling attribution', () => {
  it('swaps in the gradient’s top-k tokens at each position and reports what a direct evaluation of each swap gives', async () => {
    const a = await attribute({ model, target: TARGET, ids: prompt, bos: 1, k: K, batchSize: 5, threads: 1 });
    expect(a).toMatchObject({ model: model.id, target: TARGET, bos: 1, ids: prompt, k: K });
    expect(a.positions).toHaveLength(prompt.length);

    // The swaps are the gradient program's top-k (penalty 0: the target alone), most favoured first.
    const policy = tokenPolicy(model.config.vocabSize, model.tokenizer, false);
    const target = parseTarget(TARGET, { model, seqLen: prompt.length + 1 });
    const evaluator = await ModelEvaluator.create(model, target, {
      seqLen: prompt.length,
      bos: 1,
      topk: K,
      banned: policy.banned,
      threads: 1,
    });
    const { topk } = await evaluator.gradient([prompt], [0]).finally(() => evaluator.dispose());
    const swapped = a.positions.flatMap((p) => p.replacements.map((r) => r.id));
    expect(swapped).toEqual(Array.from(topk[0]!));

    const swaps = a.positions.flatMap((p) =>
      p.replacements.map((r) => prompt.map((id, i) => (i === p.position ? r.id : id))),
    );
    const [baseline, ...direct] = await directTargets([prompt, ...swaps]);
    expect(a.baseline.target).toBeCloseTo(baseline!, 4);
    a.positions.forEach((p, i) => {
      expect(p.id).toBe(prompt[i]);
      p.replacements.forEach((r, j) => expect(r.target).toBeCloseTo(direct[i * K + j]!, 4));
      const targets = p.replacements.map((r) => r.target);
      expect(p.worst.target).toBe(Math.min(...targets));
      expect(p.drop).toBeCloseTo(a.baseline.target - Math.min(...targets), 6);
      expect(p.top.map((r) => r.target)).toEqual([...targets].sort((x, y) => y - x).slice(0, 3));
    });
    const drops = a.positions.map((p) => p.drop);
    expect(Math.max(...a.positions.map((p) => p.importance))).toBe(1);
    expect(a.positions[drops.indexOf(Math.max(...drops))]!.importance).toBe(1);
  });

  it('never swaps in a banned token, and rejects an empty prompt', async () => {
    const a = await attribute({ model, target: TARGET, ids: prompt.slice(0, 3), bos: 1, k: 64, threads: 1 });
    const banned = tokenPolicy(model.config.vocabSize, model.tokenizer, false).banned;
    for (const p of a.positions) for (const r of p.replacements) expect(banned[r.id]).toBe(false);
    await expect(attribute({ model, target: TARGET, ids: [], bos: 1 })).rejects.toThrow(AttributionError);
  });
});
