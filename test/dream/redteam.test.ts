import { describe, expect, it } from 'vitest';
import { attribute } from '../../src/dream/attribution.ts';
import { runContexts } from '../../src/dream/context.ts';
import { ContinuationCheck, redteam } from '../../src/dream/redteam.ts';
import { Rng } from '../../src/graph/index.ts';
import { generate } from '../../src/models/generate.ts';
import { loadModel } from '../../src/models/load.ts';
import type { Model } from '../../src/models/model.ts';
import { continuationIds } from '../../src/objectives/continuation.ts';
import { defaultRuntime } from '../../src/runtime/index.ts';

const STORIES = 'karpathy/tinyllamas/stories260K';
const OPENING = 'Once upon a time, there was a little'; // 9 tokens; greedy decoding goes on " girl named Lily."

/** The model's greedy continuation of n tokens after the BOS, the template's opening, ids and its ending. */
async function greedy(model: Model, sequence: number[], n: number): Promise<number[]> {
  return generate(model, {
    runtime: defaultRuntime,
    prompt: sequence,
    maxTokens: n,
    stopIds: [],
    threads: 1,
  });
}

describe('the success check', () => {
  it('says what greedy decoding says: the text’s tokens, each the argmax after those before it', async () => {
    const model = await loadModel(STORIES);
    const tokenizer = model.tokenizer!;
    const text = continuationIds('continuation: girl named Lily.', model)!;
    const template = 'Lily said:{prompt}.';
    const contexts = runContexts(model, [template], text, { seqLen: 9, bos: 1 });
    const check = await ContinuationCheck.create(model, contexts, { bos: 1, seqLen: 9, text, threads: 1 });
    try {
      const rng = new Rng(4);
      const opening = tokenizer.encode(OPENING, { bos: false });
      const prompts = [
        opening,
        ...Array.from({ length: 5 }, () => Array.from({ length: 9 }, () => 3 + rng.int(509))),
      ];
      const got = await check.matches(prompts);
      const { before, after } = contexts[0]!;
      const fixedAfter = after.slice(0, after.length - text.length);
      for (const [i, ids] of prompts.entries()) {
        const said = await greedy(model, [1, ...before, ...ids, ...fixedAfter], text.length);
        expect(got[i]).toBe(said.join(',') === text.join(','));
      }
      // Without the template, the opening is followed by the text; with it, the check reads its context.
      const plain = await ContinuationCheck.create(
        model,
        runContexts(model, [], text, { seqLen: 9, bos: 1 }),
        {
          bos: 1,
          seqLen: 9,
          text,
          threads: 1,
        },
      );
      expect(await plain.matches([opening])).toEqual([true]);
      await plain.dispose();
    } finally {
      await check.dispose();
    }
  });
});

describe('redteam', () => {
  it('stops at a success it starts from: after 0 iterations, recorded as the run’s goal', async () => {
    const model = await loadModel(STORIES);
    const result = await redteam({
      model,
      text: ' girl named Lily.',
      initial: OPENING,
      options: { seqLen: 9, population: 2, childrenPerMember: 4, iters: 50, maxXent: 5.5 },
    });
    expect(result.success).toBe(true);
    expect(result.first).toMatchObject({ iterations: 0, text: OPENING, withinFilter: true });
    expect(result.first!.xent).toBeLessThanOrEqual(5.5);
    expect(result.run.iterations).toBe(0);
    expect(result.run.goal?.reached?.ids).toEqual(result.first!.ids);
    expect(result.target).toBe('continuation-margin: girl named Lily.');
  });

  it('finds a prompt within the filter after which greedy decoding says the text', async () => {
    const model = await loadModel(STORIES);
    const text = ' Lily was very happy.';
    const options = { seqLen: 6, population: 4, iters: 400, seed: 0, maxXent: 5.5 };
    const result = await redteam({ model, text, options });
    expect(result.success).toBe(true);
    const first = result.first!;
    expect(first.xent).toBeLessThanOrEqual(5.5);
    expect(result.run.iterations).toBe(first.iterations); // stopped there
    const ids = continuationIds(`continuation:${text}`, model)!;
    expect(await greedy(model, [1, ...first.ids], ids.length)).toEqual(ids);
    // With --keep-going it goes on to its iterations, the first success the same.
    const going = await redteam({
      model,
      text,
      keepGoing: true,
      options: { ...options, iters: first.iterations + 5 },
    });
    expect(going.run.iterations).toBe(first.iterations + 5);
    expect(going.first).toMatchObject({ ids: first.ids, iterations: first.iterations });
  }, 60_000);
});

describe('attribution of a continuation target', () => {
  it('reads the prompt followed by the text, as the run did', async () => {
    const model = await loadModel(STORIES);
    const result = await redteam({
      model,
      text: ' girl named Lily.',
      initial: OPENING,
      options: { seqLen: 9, population: 2, childrenPerMember: 4, iters: 5 },
    });
    const attribution = await attribute({
      model,
      target: result.target,
      ids: result.first!.ids,
      bos: 1,
      k: 4,
    });
    expect(attribution.baseline.target).toBeCloseTo(result.first!.target, 4);
    expect(attribution.baseline.xent).toBeCloseTo(result.first!.xent, 4);
  });
});
