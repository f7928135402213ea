import { describe, expect, it } from 'vitest';
import { runContexts, splitTemplate, templateContext, TemplateError } from '../../src/dream/context.ts';
import { ModelEvaluator } from '../../src/dream/engine/evaluator.ts';
import { OptionsError } from '../../src/dream/options.ts';
import type { IterationRecord } from '../../src/dream/epo.ts';
import { MemorySink } from '../../src/dream/memory-sink.ts';
import { dream, resumeDream } from '../../src/dream/run.ts';
import { tokenPolicy } from '../../src/dream/tokens.ts';
import { loadModel } from '../../src/models/load.ts';
import type { Model } from '../../src/models/model.ts';
import { continuationIds } from '../../src/objectives/continuation.ts';
import { parseTarget, TargetSpecError } from '../../src/objectives/target.ts';

const STORIES = 'karpathy/tinyllamas/stories260K';
const OPENING = 'Once upon a time{prompt}';
const TALE = 'Lily saw{prompt} and she';

/** Target and xent of prompts in one context, evaluated in full by a fresh evaluator. */
async function direct(model: Model, spec: string, template: string, prompts: number[][]) {
  const { before, after } = templateContext(model, template);
  const text = continuationIds(spec, model) ?? [];
  const seqLen = (prompts[0] as number[]).length;
  const target = parseTarget(spec, {
    model,
    seqLen: 1 + before.length + seqLen + after.length + text.length,
  });
  const evaluator = await ModelEvaluator.create(model, target, {
    seqLen,
    bos: model.tokenizer!.bosId!,
    prefix: before,
    suffix: [...after, ...text],
    topk: 1,
    banned: tokenPolicy(model.config.vocabSize, model.tokenizer, false).banned,
    evaluation: 'full',
    threads: 1,
  });
  try {
    return await evaluator.evaluate(prompts);
  } finally {
    await evaluator.dispose();
  }
}

describe('templates', () => {
  it('are split at their one {prompt}; none or two are a TemplateError', () => {
    expect(splitTemplate('A {prompt} B')).toEqual({ before: 'A ', after: ' B' });
    expect(splitTemplate('{prompt}')).toEqual({ before: '', after: '' });
    expect(() => splitTemplate('no slot here')).toThrow(TemplateError);
    expect(() => splitTemplate('no slot here')).toThrow(/holds 0 \{prompt\}; expected exactly one/);
    expect(() => splitTemplate('{prompt} and {prompt}')).toThrow(/holds 2 \{prompt\}/);
  });

  it('tokenize each part as it reads, and name a part that does not', async () => {
    const model = await loadModel(STORIES);
    const tokenizer = model.tokenizer!;
    const { before, after } = templateContext(model, TALE);
    expect(tokenizer.decode(before)).toBe('Lily saw');
    expect(tokenizer.decode([...before, 290, ...after]).endsWith(' and she')).toBe(true);
    // A bare space that SentencePiece's dummy prefix leaves before '.' is dropped: the '.' follows at once.
    const period = templateContext(model, 'Lily saw{prompt}.').after;
    expect(tokenizer.decode([...before, 290, ...period])).toMatch(/[^ ]\.$/);
    // A SentencePiece piece that holds a word's opening space as well cannot read without it.
    expect(() => templateContext(model, '{prompt}lily')).toThrow(TemplateError);
    expect(() => templateContext(model, '{prompt}lily')).toThrow(
      /after \{prompt\}, "lily", does not tokenize as written: after the prompt its tokens read " lily"/,
    );
    const fixture = await loadModel('../shared/fixtures/llama-tiny-random');
    expect(() => templateContext(fixture, OPENING)).toThrow(/has no tokenizer/);
  });

  it('with the continuation, must fit the model’s context', async () => {
    const model = await loadModel(STORIES);
    const limit = model.config.maxPositions;
    const text = continuationIds('continuation: Lily was very sad.', model)!;
    expect(() => runContexts(model, [OPENING], text, { seqLen: limit - text.length, bos: 1 })).toThrow(
      OptionsError,
    );
    expect(() => runContexts(model, [OPENING], text, { seqLen: limit - text.length, bos: 1 })).toThrow(
      /template 1: the sequence is \d+ tokens \(BOS \+ 4 before \+ \d+ optimized \+ 0 after \+ 6 of the continuation\), past the model's context/,
    );
  });

  it('leave the fixed tokens alone: a dream changes only the prompt, its values those of the prompt in context', async () => {
    const model = await loadModel(STORIES);
    const spec = 'blocks.4.mlp.hook_post[0]';
    const options = { seqLen: 6, iters: 4, population: 4, childrenPerMember: 8, seed: 2, templates: [TALE] };
    const result = await dream({ model, target: spec, options });
    const candidates = result.history!.flatMap((r) => r.candidates);
    expect(candidates.every((c) => c.ids.length === 6)).toBe(true);
    const prompts = result.frontier.map((p) => p.ids);
    const expected = await direct(model, spec, TALE, prompts);
    result.frontier.forEach((p, i) => {
      expect(p.target).toBeCloseTo(expected.target[i]!, 4);
      expect(p.xent).toBeCloseTo(expected.xent[i]!, 4);
    });
  });

  it('repeated, give each prompt the mean of its contexts’ target and xent', async () => {
    const model = await loadModel(STORIES);
    const spec = 'continuation: and they were happy.';
    const options = {
      seqLen: 5,
      iters: 3,
      population: 3,
      childrenPerMember: 6,
      seed: 1,
      templates: [OPENING, TALE],
    };
    const result = await dream({ model, target: spec, options });
    const prompts = result.frontier.map((p) => p.ids);
    const [a, b] = [await direct(model, spec, OPENING, prompts), await direct(model, spec, TALE, prompts)];
    result.frontier.forEach((p, i) => {
      expect(p.target).toBeCloseTo((a.target[i]! + b.target[i]!) / 2, 4);
      expect(p.xent).toBeCloseTo((a.xent[i]! + b.xent[i]!) / 2, 4);
    });
    expect(result.options.templates).toEqual([OPENING, TALE]);
  });
});

describe('a run in several contexts', () => {
  it('resumed, ends as the run that never stopped', async () => {
    const model = await loadModel(STORIES);
    const untimed = (records: IterationRecord[]) => records.map(({ seconds: _, ...r }) => r);
    const target = 'continuation-margin: and they were happy.';
    const options = { seqLen: 5, population: 3, childrenPerMember: 6, seed: 3, templates: [OPENING, TALE] };
    const whole = new MemorySink();
    await dream({ model, target, options: { ...options, iters: 6 }, sink: whole });
    const cut = new MemorySink();
    await dream({ model, target, options: { ...options, iters: 3 }, sink: cut });
    const resumed = await resumeDream({ model, from: cut.stored(), sink: cut, iters: 3 });
    expect(untimed(cut.history)).toEqual(untimed(whole.history));
    expect(resumed.population).toEqual(whole.summary!.population);
  });
});

describe('continuation targets', () => {
  it('take the text as it follows the prompt, as ids, or as a JSON string', async () => {
    const model = await loadModel(STORIES);
    const tokenizer = model.tokenizer!;
    const ids = continuationIds('continuation: Lily was very sad.', model)!;
    expect(tokenizer.decode([...tokenizer.encode('Tom', { bos: false }), ...ids])).toBe(
      'Tom Lily was very sad.',
    );
    expect(continuationIds('continuation-min:" Lily was very sad."', model)).toEqual(ids);
    expect(continuationIds('continuation-margin:#317,#286', model)).toEqual([317, 286]);
    expect(continuationIds('blocks.4.mlp.hook_post[0]', model)).toBeUndefined();
  });

  it('name empty text, text that does not tokenize as given, and ids out of range', async () => {
    const model = await loadModel(STORIES);
    const seqLen = 20;
    expect(() => parseTarget('continuation:', { model, seqLen })).toThrow(TargetSpecError);
    expect(() => parseTarget('continuation:', { model, seqLen })).toThrow(/the continuation is empty/);
    expect(() => parseTarget('continuation:""', { model, seqLen })).toThrow(/the continuation is empty/);
    expect(() => parseTarget('continuation:lily', { model, seqLen })).toThrow(
      /"lily" does not tokenize as given: after other tokens its tokens read " lily" \(a continuation that starts a new word begins with a space\)/,
    );
    expect(() => parseTarget('continuation:#9999', { model, seqLen })).toThrow(
      /token id 9999 is out of range \(0\.\.511\)/,
    );
    expect(() => parseTarget('continuation: Lily was very sad.', { model, seqLen: 6 })).toThrow(
      /the text is 6 tokens; a sequence of 6 has no room for a prompt before it/,
    );
    const fixture = await loadModel('../shared/fixtures/llama-tiny-random');
    expect(() => parseTarget('continuation: the end', { model: fixture, seqLen })).toThrow(
      /has no tokenizer/,
    );
  });
});
