import { beforeAll, describe, expect, it } from 'vitest';
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
