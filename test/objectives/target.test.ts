import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { traceModel } from '../../src/cli/commands/trace.ts';
import { ModelEvaluator } from '../../src/dream/engine/evaluator.ts';
import { writeSafetensors } from '../../src/io/safetensors.ts';
import { loadModel } from '../../src/models/load.ts';
import type { Model } from '../../src/models/model.ts';
import { parseTarget, TargetSpecError } from '../../src/objectives/target.ts';

let model: Model;
beforeAll(async () => {
  model = await loadModel('karpathy/tinyllamas/stories260K');
});

const parse = (spec: string, readDirection?: (path: string) => number[]) =>
  parseTarget(spec, { model, seqLen: 13, ...(readDirection && { readDirection }) });

describe('target specs', () => {
  it('accept every kind the language has', () => {
    expect(parse('blocks.2.mlp.hook_post[17]').hooks).toEqual(['blocks.2.mlp.hook_post']);
    expect(parse('blocks.2.hook_resid_post[5]@-3').hooks).toEqual(['blocks.2.hook_resid_post']);
    expect(parse('logit:Lily').hooks).toEqual([]);
    expect(parse('logit:#300').hooks).toEqual([]);
    expect(parse('blocks.1.hook_resid_pre@dir:d.json', () => Array(64).fill(1)).hooks).toEqual([
      'blocks.1.hook_resid_pre',
    ]);
    expect(parse('blocks.1.attn.hook_pattern[h=2,k=0]').hooks).toEqual(['blocks.1.attn.hook_pattern']);
  });

  const errors: [string, RegExp][] = [
    ['blocks.2.mlp.hook_post', /cannot parse target .* expected one of/s],
    [
      'blocks.2.mlp.hookpost[3]',
      /unknown hook "blocks\.2\.mlp\.hookpost".*did you mean "blocks\.2\.mlp\.hook_post"/,
    ],
    ['blocks.9.mlp.hook_post[3]', /layer 9 is out of range: the model has layers 0\.\.4/],
    ['blocks.2.mlp.hook_post[172]', /feature 172 is out of range: .* features 0\.\.171/],
    ['blocks.2.mlp.hook_post[3]@13', /position 13 is out of range for 13 tokens/],
    ['blocks.1.attn.hook_pattern[h=8,k=0]', /head 8 is out of range \(0\.\.7\)/],
    ['blocks.1.attn.hook_pattern[3]', /addressed as .*\[h=H,k=K\]/],
    ['logit: Lily', /is 2 tokens .* expected exactly one/],
    ['logit:#512', /token id 512 is out of range \(0\.\.511\)/],
  ];
  it.each(errors)('reject %s with a named error saying what is valid', (spec, message) => {
    expect(() => parse(spec)).toThrow(TargetSpecError);
    expect(() => parse(spec)).toThrow(message);
  });

  it('reject a direction whose length is not the hook width', () => {
    expect(() => parse('blocks.1.hook_resid_pre@dir:d.json', () => [1, 2, 3])).toThrow(
      /3 entries, .* 64 features/,
    );
  });
});

describe('SAELens targets', () => {
  it('are the pre-activation (x − b_dec)·W_enc[:, N] + b_enc[N] of the SAE on its hook', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'reverie-sae-'));
    try {
      const [dIn, dSae] = [64, 5];
      const wEnc = Float32Array.from({ length: dIn * dSae }, (_, i) => Math.sin(i));
      const bEnc = Float32Array.from({ length: dSae }, (_, i) => i / 10);
      const bDec = Float32Array.from({ length: dIn }, (_, i) => Math.cos(i) / 4);
      writeSafetensors(join(dir, 'sae_weights.safetensors'), {
        W_enc: { shape: [dIn, dSae], data: wEnc },
        b_enc: { shape: [dSae], data: bEnc },
        W_dec: { shape: [dSae, dIn], data: new Float32Array(dSae * dIn) },
        b_dec: { shape: [dIn], data: bDec },
      });
      const hook = 'blocks.2.hook_resid_post';
      const cfg = { hook_name: hook, d_in: dIn, d_sae: dSae, apply_b_dec_to_input: true };
      writeFileSync(join(dir, 'cfg.json'), JSON.stringify(cfg));

      const ids = model.tokenizer!.encode('Once upon a time there was a cat.');
      const target = parseTarget(`sae:${dir}[3]@-2`, { model, seqLen: ids.length });
      const evaluator = await ModelEvaluator.create(model, target, {
        seqLen: ids.length,
        topk: 1,
        banned: Array(512).fill(false),
        threads: 1,
      });
      const [value] = (await evaluator.evaluate([ids])).target;
      await evaluator.dispose();
      const x = (await traceModel(model, ids, [hook], 1)).hooks[hook]!.at(-2)!;
      const expected = x.reduce((s, v, i) => s + (v - bDec[i]!) * wEnc[i * dSae + 3]!, bEnc[3]!);
      expect(value).toBeCloseTo(expected, 4);
      expect(() => parse(`sae:${dir}[5]`)).toThrow(/feature to be an index in 0\.\.4, got 5/);
      expect(() => parse(`sae:${join(dir, 'nope')}[1]`)).toThrow(/cfg\.json, which does not exist/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
