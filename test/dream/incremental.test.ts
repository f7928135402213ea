import { describe, expect, it } from 'vitest';
import { withGradients, type Child } from '../../src/dream/epo.ts';
import { ModelEvaluator } from '../../src/dream/engine/evaluator.ts';
import { PrefixCaches, type PrefixCache } from '../../src/dream/engine/prefix-cache.ts';
import { input, Rng, slice } from '../../src/graph/index.ts';
import { nextLogProbs, VOCAB_BLOCK } from '../../src/dream/engine/programs.ts';
import { PYTHIA_70M_SHAPE, randomGptNeoX } from '../../src/models/random.ts';
import { compile } from '../../src/runtime/index.ts';
import { loadModel } from '../../src/models/load.ts';
import type { Model } from '../../src/models/model.ts';
import { parseTarget } from '../../src/objectives/target.ts';

const SEQ_LEN = 8;

/**
 * Three parents and, for each, a child changed at every position to a random other token, and one from every
 * position on: the parent's token there deleted, a random token appended (so that later positions differ too).
 */
function family(
  model: Model,
  seed: number,
): { parents: number[][]; children: { ids: number[]; parent: number; position: number }[] } {
  const rng = new Rng(seed);
  const V = model.config.vocabSize;
  const parents = Array.from({ length: 3 }, () => Array.from({ length: SEQ_LEN }, () => 3 + rng.int(V - 3)));
  const children = parents.flatMap((ids, parent) =>
    ids.flatMap((id, position) => {
      const swapped = [...ids];
      swapped[position] = 3 + ((id - 3 + 1 + rng.int(V - 4)) % (V - 3));
      const shifted = [...ids.slice(0, position), ...ids.slice(position + 1), 3 + rng.int(V - 3)];
      const differs = shifted.findIndex((t, i) => t !== ids[i]);
      return [
        { ids: swapped, parent, position },
        ...(differs >= 0 ? [{ ids: shifted, parent, position: differs }] : []),
      ];
    }),
  );
  return { parents, children };
}

/** Target and xent of every child, evaluated in full and from its parent's cached prefix. */
async function bothWays(model: Model, spec: string, bos: number | undefined, rowsPerRun?: number) {
  const target = parseTarget(spec, { model, seqLen: SEQ_LEN + (bos === undefined ? 0 : 1) });
  const options = {
    seqLen: SEQ_LEN,
    ...(bos === undefined ? {} : { bos }),
    topk: 4,
    banned: Array.from({ length: model.config.vocabSize }, () => false),
    threads: 1,
    ...(rowsPerRun && { activationBytesPerRun: rowsPerRun * 4 * 6 * model.config.vocabSize }),
  };
  const incremental = await ModelEvaluator.create(model, target, { ...options, evaluation: 'incremental' });
  const full = await ModelEvaluator.create(model, target, { ...options, evaluation: 'full' });
  try {
    expect(incremental.evaluation).toBe('incremental');
    const { parents, children } = family(model, 7);
    const members = await withGradients(
      incremental,
      parents,
      parents.map(() => 1),
    );
    const packed: Child[] = children.map((c) => ({
      ids: c.ids,
      parent: parents[c.parent]!,
      position: c.position,
    }));
    return {
      members,
      fromParents: await incremental.fitness(packed),
      fromScratch: await full.fitness(packed),
    };
  } finally {
    await incremental.dispose();
    await full.dispose();
  }
}

function expectClose(actual: readonly number[], expected: readonly number[]): void {
  expect(actual).toHaveLength(expected.length);
  actual.forEach((a, i) =>
    expect(Math.abs(a - expected[i]!)).toBeLessThan(1e-4 * Math.max(1, Math.abs(expected[i]!))),
  );
}

const FIXTURES = ['llama-tiny-random', 'gpt-neox-tiny-random', 'gpt2-tiny-random', 'stories260K-hf'];

describe.each(FIXTURES)('incremental evaluation on the %s fixture', (fixture) => {
  // Block 0 of a child's later positions comes from the parent's cache, unless the target reads block 0.
  it.each(['blocks.1.mlp.hook_post[3]', 'blocks.0.hook_mlp_out[2]'])(
    'gives every child the target and xent of full evaluation (%s)',
    async (spec) => {
      const model = await loadModel(`../shared/fixtures/${fixture}`);
      const { fromParents, fromScratch } = await bothWays(model, spec, undefined);
      expectClose(fromParents.target, fromScratch.target);
      expectClose(fromParents.xent, fromScratch.xent);
    },
  );
});

describe('incremental evaluation on a random GPT-NeoX whose vocabulary spans several blocks of logits', () => {
  it('gives every child the target and xent of full evaluation', async () => {
    const shape = { ...PYTHIA_70M_SHAPE, hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 2 };
    const model = randomGptNeoX({ ...shape, intermediate_size: 64, vocab_size: 3 * VOCAB_BLOCK + 5 }, 1);
    for (const spec of ['blocks.1.mlp.hook_post[3]', 'logit:#9000']) {
      const { fromParents, fromScratch } = await bothWays(model, spec, undefined);
      expectClose(fromParents.target, fromScratch.target);
      expectClose(fromParents.xent, fromScratch.xent);
    }
  });
});

describe('incremental evaluation on stories260K (with its BOS)', () => {
  it('gives the same results in runs of a few rows each as in one run', async () => {
    const model = await loadModel('karpathy/tinyllamas/stories260K');
    const spec = 'blocks.4.mlp.hook_post[0]';
    const whole = await bothWays(model, spec, model.tokenizer!.bosId);
    const split = await bothWays(model, spec, model.tokenizer!.bosId, 5);
    expect(split.members.map((m) => m.topk)).toEqual(whole.members.map((m) => m.topk));
    expect(split.members.map((m) => m.target)).toEqual(whole.members.map((m) => m.target));
    expect(split.fromParents.target).toEqual(whole.fromParents.target);
    expectClose(split.fromParents.xent, whole.fromParents.xent);
    expectClose(split.fromScratch.xent, whole.fromScratch.xent);
  });

  const targets = [
    'blocks.4.mlp.hook_post[0]',
    'blocks.1.mlp.hook_post[3]@-3',
    'blocks.2.hook_resid_post[5]@2',
    'logit:#265',
    'blocks.1.attn.hook_pattern[h=2,k=1]',
    'ln_final.hook_normalized[7]',
    // Block 0 read by the target: computed in full for every new row, not taken from the parent's cache.
    'blocks.0.mlp.hook_post[1]',
    'blocks.0.hook_resid_post[2]@-2',
  ];
  it.each(targets)('agrees with full evaluation on %s', async (spec) => {
    const model = await loadModel('karpathy/tinyllamas/stories260K');
    const { fromParents, fromScratch } = await bothWays(model, spec, model.tokenizer!.bosId);
    expectClose(fromParents.target, fromScratch.target);
    expectClose(fromParents.xent, fromScratch.xent);
  });
});

describe('the incremental evaluator’s prefix caches', () => {
  it('are computed again, to the same results, for parents it holds none for (a resumed population)', async () => {
    const model = await loadModel('../shared/fixtures/llama-tiny-random');
    const target = parseTarget('blocks.1.mlp.hook_post[3]', { model, seqLen: SEQ_LEN });
    const options = {
      seqLen: SEQ_LEN,
      topk: 4,
      banned: Array.from({ length: model.config.vocabSize }, () => false),
      threads: 1,
      evaluation: 'incremental' as const,
    };
    const { parents, children } = family(model, 11);
    const packed: Child[] = children.map((c) => ({
      ids: c.ids,
      parent: parents[c.parent]!,
      position: c.position,
    }));
    const warm = await ModelEvaluator.create(model, target, options);
    const cold = await ModelEvaluator.create(model, target, options);
    try {
      await withGradients(warm, parents, [0.5, 1, 2]);
      expect(await cold.fitness(packed)).toEqual(await warm.fitness(packed));
    } finally {
      await warm.dispose();
      await cold.dispose();
    }
  });
});

describe('PrefixCaches', () => {
  const cache = (bytes: number): PrefixCache => ({
    queries: new Float32Array(bytes / 4),
    keys: [],
    values: [],
    hooks: {},
    logprobs: new Float32Array(0),
    normalized: new Float32Array(0),
    logSumExp: new Float32Array(0),
  });

  it('keep what was used in this generation or the one before', () => {
    const caches = new PrefixCaches();
    caches.set([1], cache(8));
    caches.set([2], cache(8));
    caches.nextGeneration(); // generation 1: [1] and [2] were written in generation 0
    caches.get([1]);
    caches.set([3], cache(8));
    expect(caches.size).toBe(3);
    caches.nextGeneration(); // generation 2: [2] was last used in 0
    expect([caches.get([1]), caches.get([2]), caches.get([3])].map(Boolean)).toEqual([true, false, true]);
    caches.nextGeneration();
    caches.nextGeneration(); // nothing used since generation 2
    expect(caches.size).toBe(0);
  });
});

describe('next-token log-probabilities formed a block of the vocabulary at a time', () => {
  it('equal those of a log-softmax over the whole vocabulary', async () => {
    const model = await loadModel('../shared/fixtures/gpt-neox-tiny-random');
    const ids = input('ids', 'int64', [3, 6]);
    const { normalized, unembed } = model.build({ tokens: ids });
    const hidden = slice(normalized!, [1], [0], [5]); // [3,5,D]
    const next = slice(ids, [1], [1], [6]); // [3,5]
    const session = await compile({
      outputs: {
        blocks: nextLogProbs(hidden, next, unembed!, 512, 100), // 6 blocks, the last one shorter
        whole: nextLogProbs(hidden, next, unembed!, 512, 512),
      },
      threads: 1,
    });
    const rng = new Rng(3);
    const data = BigInt64Array.from({ length: 18 }, () => BigInt(rng.int(512)));
    const out = await session.run({ ids: { dtype: 'int64', shape: [3, 6], data } });
    await session.dispose();
    expectClose(
      Array.from(out['blocks']!.data as Float32Array),
      Array.from(out['whole']!.data as Float32Array),
    );
  });
});
