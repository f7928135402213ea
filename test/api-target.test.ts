import { beforeAll, describe, expect, it } from 'vitest';
import { ModelEvaluator } from '../src/dream/engine/evaluator.ts';
import { MemorySink } from '../src/dream/memory-sink.ts';
import { dream } from '../src/dream/run.ts';
import { add, mul, reduceSum } from '../src/graph/index.ts';
import { loadModel } from '../src/models/load.ts';
import type { Model } from '../src/models/model.ts';
import { trace } from '../src/models/trace.ts';
import { customTarget, parseTarget, TargetSpecError, type Target } from '../src/objectives/target.ts';

let model: Model;
beforeAll(async () => {
  model = await loadModel('karpathy/tinyllamas/stories260K');
});

const HOOK = 'blocks.4.mlp.hook_post';

/** A short dream's every candidate, for a target given as a spec or as an object. */
async function history(target: string | Target, evaluation: 'full' | 'incremental') {
  const sink = new MemorySink();
  // dream() takes a spec in its types; parseTarget (which run.ts calls) takes a Target as well.
  const summary = await dream({
    model,
    target: target as string,
    options: { iters: 3, population: 3, childrenPerMember: 8, seed: 4, threads: 1, evaluation },
    sink,
  });
  return { summary, candidates: sink.history.flatMap((r) => r.candidates) };
}

describe('a custom target', () => {
  it('dreams exactly as the spec it restates, evaluated in full or incrementally', async () => {
    const neuron = customTarget({ name: 'n0', hooks: [HOOK], value: (v) => v.feature(HOOK, 0) });
    for (const evaluation of ['full', 'incremental'] as const) {
      const bySpec = await history(`${HOOK}[0]`, evaluation);
      const byFunction = await history(neuron, evaluation);
      expect(byFunction.candidates).toEqual(bySpec.candidates);
      expect(byFunction.summary.target).toBe('custom:n0');
      expect(byFunction.summary.evaluation).toBe(evaluation); // no fall-back to full evaluation
    }
  });

  it('is the function of hooks it says: here a weighted sum of two neurons and a logit', async () => {
    const ids = model.tokenizer!.encode('Once upon a time', { bos: true });
    const target = parseTarget(
      customTarget({
        name: 'mix',
        hooks: [HOOK],
        value: (v) =>
          add(
            add(v.feature(HOOK, 0), mul(v.feature(HOOK, 5, -2), -0.5)),
            reduceSum(mul(v.lastLogits(), 0), [1]),
          ),
      }),
      { model, seqLen: ids.length },
    );
    const { hooks } = await trace(model, ids, { hooks: [HOOK], threads: 1 });
    const rows = hooks[HOOK]!;
    const expected = rows.at(-1)![0]! - 0.5 * rows.at(-2)![5]!;
    // the target's value through the evaluator's fitness program
    const evaluator = await ModelEvaluator.create(model, target, {
      seqLen: ids.length - 1,
      bos: ids[0]!,
      topk: 4,
      banned: Array(512).fill(false),
      threads: 1,
      evaluation: 'full',
    });
    try {
      const out = await evaluator.evaluate([ids.slice(1)]);
      expect(out.target[0]).toBeCloseTo(expected, 4);
    } finally {
      await evaluator.dispose();
    }
  });

  it('names an unknown hook and the nearest valid one, at once when given the model', () => {
    const typo = { name: 'typo', hooks: ['blocks.4.mlp.hook_psot'], value: () => undefined as never };
    expect(() => customTarget({ ...typo, model })).toThrow(TargetSpecError);
    expect(() => customTarget({ ...typo, model })).toThrow(
      'custom:typo: unknown hook "blocks.4.mlp.hook_psot"; did you mean "blocks.4.mlp.hook_post"?',
    );
    expect(() => parseTarget(customTarget(typo), { model, seqLen: 13 })).toThrow(/did you mean/);
    expect(() =>
      customTarget({
        name: 'deep',
        hooks: ['blocks.9.mlp.hook_post'],
        value: () => undefined as never,
        model,
      }),
    ).toThrow(/layer 9 is out of range: the model has layers 0\.\.4/);
  });

  it('says what is wrong with its value: a hook it did not declare, a feature out of range, not one number per sequence', () => {
    const parse = (value: Parameters<typeof customTarget>[0]['value']) =>
      parseTarget(customTarget({ name: 'x', hooks: [HOOK], value }), { model, seqLen: 13 });
    expect(() => parse((v) => v.feature('blocks.3.mlp.hook_post', 0))).toThrow(
      /reads hook "blocks\.3\.mlp\.hook_post", which it does not declare/,
    );
    expect(() => parse((v) => v.feature(HOOK, 172))).toThrow(/feature 172 is out of range: .* 0\.\.171/);
    expect(() => parse((v) => v.at(HOOK))).toThrow(/one number per sequence, shape \[B\]; got \[1,172\]/);
    expect(() => parse((v) => v.at(HOOK, 13))).toThrow(/position 13 is out of range for 13 tokens/);
    expect(() => parse(() => 3 as never)).toThrow(/got number/);
  });

  it('needs a name, hook names and a value function; its name alone cannot be parsed again', () => {
    expect(() => customTarget({ name: 'two words', hooks: [], value: (v) => v.lastLogits() })).toThrow(
      TargetSpecError,
    );
    expect(() =>
      customTarget({ name: 'n', hooks: 'blocks.1.mlp.hook_post' as never, value: (v) => v.lastLogits() }),
    ).toThrow(/hooks must be an array/);
    expect(() => parseTarget('custom:n0', { model, seqLen: 13 })).toThrow(/give the target object/);
    expect(() => parseTarget({ spec: 'x' } as never, { model, seqLen: 13 })).toThrow(
      /spec string or an object/,
    );
  });
});
