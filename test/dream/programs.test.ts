import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ModelEvaluator } from '../../src/dream/engine/evaluator.ts';
import { loadModel } from '../../src/models/load.ts';
import { parseTarget } from '../../src/objectives/target.ts';

interface Reference {
  x_penalty: number;
  sequences: {
    ids: number[];
    target: number;
    xentropy: number;
    final_token_argmax: number;
    grad_top5_ids: number[][];
  }[];
}

const FIXTURES = ['llama-tiny-random', 'gpt-neox-tiny-random', 'gpt2-tiny-random', 'stories260K-hf'];

describe.each(FIXTURES)('the EPO programs on the %s fixture', (fixture) => {
  it('give the reference target, xent, argmax and the top-5 tokens of the one-hot gradient', async () => {
    const dir = `../shared/fixtures/${fixture}`;
    const reference = JSON.parse(readFileSync(`${dir}/reference.json`, 'utf8')) as Reference;
    const model = await loadModel(dir);
    const ids = reference.sequences.map((s) => s.ids);
    const target = parseTarget('blocks.1.mlp.hook_post[3]', { model, seqLen: ids[0]!.length });
    const banned = Array.from({ length: model.config.vocabSize }, () => false);
    const evaluator = await ModelEvaluator.create(model, target, {
      seqLen: ids[0]!.length,
      topk: 5,
      banned,
      threads: 1,
    });
    try {
      const fitness = await evaluator.evaluate(ids);
      const gradient = await evaluator.gradient(
        ids,
        ids.map(() => reference.x_penalty),
      );
      reference.sequences.forEach((seq, b) => {
        expect(fitness.target[b]).toBeCloseTo(seq.target, 4);
        expect(fitness.xent[b]).toBeCloseTo(seq.xentropy, 4);
        expect(fitness.argmax[b]).toBe(seq.final_token_argmax);
        expect(gradient.target[b]).toBeCloseTo(seq.target, 4);
        expect(Array.from(gradient.topk[b]!)).toEqual(seq.grad_top5_ids.flat());
      });
    } finally {
      await evaluator.dispose();
    }
  });
});
