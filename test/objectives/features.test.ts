import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { input } from '../../src/graph/index.ts';
import { writeSafetensors } from '../../src/io/safetensors.ts';
import { readSaeFeature, readSaeFeatures } from '../../src/io/sae.ts';
import { loadModel } from '../../src/models/load.ts';
import type { Model } from '../../src/models/model.ts';
import { isFeatureSetSpec, parseFeatureSet } from '../../src/objectives/features.ts';
import { parseTarget, TargetSpecError } from '../../src/objectives/target.ts';

let model: Model;
const dir = mkdtempSync(join(tmpdir(), 'reverie-features-'));
const [dIn, dSae] = [64, 10];
const wEnc = Float32Array.from({ length: dIn * dSae }, (_, i) => Math.sin(i));

beforeAll(async () => {
  model = await loadModel('karpathy/tinyllamas/stories260K');
  writeSafetensors(join(dir, 'sae_weights.safetensors'), {
    W_enc: { shape: [dIn, dSae], data: wEnc },
    b_enc: { shape: [dSae], data: Float32Array.from({ length: dSae }, (_, i) => i / 10) },
    W_dec: { shape: [dSae, dIn], data: new Float32Array(dSae * dIn) },
    b_dec: { shape: [dIn], data: new Float32Array(dIn) },
  });
  writeFileSync(
    join(dir, 'cfg.json'),
    JSON.stringify({ hook_name: 'blocks.1.hook_resid_post', d_in: dIn, d_sae: dSae }),
  );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const parse = (spec: string) => parseFeatureSet(spec, { model, seqLen: 13 });

describe('feature set specs', () => {
  it('are told from single targets', () => {
    for (const spec of [
      'blocks.2.mlp.hook_post[*]',
      'blocks.2.mlp.hook_post[0:64]',
      'blocks.2.mlp.hook_post[:8]@-2',
      'blocks.2.mlp.hook_post[3,17,40]',
      'sae:some/dir[*]',
      'sae:some/dir[2:5]@3',
      'blocks.1.attn.hook_pattern[*]',
    ])
      expect(isFeatureSetSpec(spec), spec).toBe(true);
    for (const spec of [
      'blocks.2.mlp.hook_post[17]',
      'sae:some/dir[5]',
      'blocks.1.attn.hook_pattern[h=2,k=0]',
      'logit:" cat"',
      'blocks.1.hook_resid_pre@dir:d.json',
    ])
      expect(isFeatureSetSpec(spec), spec).toBe(false);
  });

  it('select all, a half-open range or a list, each feature a target parseTarget accepts', () => {
    const all = parse('blocks.2.mlp.hook_post[*]');
    expect(all.hooks).toEqual(['blocks.2.mlp.hook_post']);
    expect(all.indices).toEqual(Array.from({ length: 172 }, (_, i) => i));
    expect(parse('blocks.2.mlp.hook_post[3:6]').targets).toEqual(
      [3, 4, 5].map((i) => `blocks.2.mlp.hook_post[${i}]`),
    );
    expect(parse('blocks.2.mlp.hook_post[170:]').indices).toEqual([170, 171]);
    expect(parse('blocks.2.mlp.hook_post[:2]@-3').targets).toEqual([
      'blocks.2.mlp.hook_post[0]@-3',
      'blocks.2.mlp.hook_post[1]@-3',
    ]);
    const list = parse('blocks.2.mlp.hook_post[40, 3,17]');
    expect(list.indices).toEqual([40, 3, 17]);
    expect(parse('blocks.2.mlp.hook_post[17]').targets).toEqual(['blocks.2.mlp.hook_post[17]']);
    for (const t of [...list.targets, ...parse('blocks.2.mlp.hook_post[:2]@-3').targets])
      expect(parseTarget(t, { model, seqLen: 13 }).spec).toBe(t);
    const sae = parse(`sae:${dir}[7:]`);
    expect(sae.hooks).toEqual(['blocks.1.hook_resid_post']);
    expect(sae.targets).toEqual([7, 8, 9].map((i) => `sae:${dir}[${i}]`));
  });

  it('give values [B,F] at a position and [B,T,F] at every position', () => {
    const tokens = input('ids', 'int64', ['B', 13]);
    for (const spec of [
      'blocks.1.mlp.hook_post[*]',
      'blocks.1.mlp.hook_post[5:9]',
      'blocks.1.mlp.hook_post[9,2]',
      `sae:${dir}[1,4,5]`,
    ]) {
      const set = parse(spec);
      const { hooks } = model.build({ tokens, hooks: set.hooks });
      const F = set.indices.length;
      expect(set.values({ hooks }).shape).toEqual(['B', F]);
      expect(set.valuesAtAllPositions({ hooks }).shape).toEqual(['B', 13, F]);
    }
  });

  const errors: [string, RegExp][] = [
    ['blocks.2.mlp.hook_post[5:5]', /range 5:5 is empty; expected start < end/],
    ['blocks.2.mlp.hook_post[9:3]', /range 9:3 is empty/],
    [
      'blocks.2.mlp.hook_post[0:200]',
      /range 0:200 is out of range: .* features 0\.\.171 \(a range ends at 172 at most\)/,
    ],
    [
      'blocks.2.mlp.hook_post[172:]',
      /feature 172 is out of range: blocks\.2\.mlp\.hook_post has features 0\.\.171/,
    ],
    ['blocks.2.mlp.hook_post[3,172]', /feature 172 is out of range: .* 0\.\.171/],
    ['blocks.2.mlp.hook_post[3,17,3]', /feature 3 is listed twice; expected distinct indices/],
    ['blocks.2.mlp.hook_post[1,,2]', /cannot parse the features \[1,,2\]; expected \[\*\], a range \[a:b\]/],
    ['blocks.2.mlp.hook_post[1:2:3]', /cannot parse the features/],
    ['blocks.1.attn.hook_pattern[*]', /attention patterns are not feature sets/],
    ['blocks.9.mlp.hook_post[*]', /layer 9 is out of range/],
    ['blocks.2.mlp.hook_post[*]@13', /position 13 is out of range for 13 tokens/],
    ['logit:" cat"', /cannot parse feature set .* expected one of/s],
    [`sae:${dir}[8:12]`, /range 8:12 is out of range: the SAE in .* has features 0\.\.9/],
    [`sae:${join(dir, 'nope')}[*]`, /cfg\.json, which does not exist/],
  ];
  it.each(errors)('reject %s with a TargetSpecError saying what was expected', (spec, message) => {
    expect(() => parse(spec)).toThrow(TargetSpecError);
    expect(() => parse(spec)).toThrow(message);
  });
});

describe('reading several SAE features', () => {
  it('keeps the encoder columns asked for, as the single reader does', () => {
    const some = readSaeFeatures(dir, [7, 2]);
    expect(some.indices).toEqual([7, 2]);
    for (const [j, f] of [7, 2].entries()) {
      const one = readSaeFeature(dir, f);
      expect(one.bias).toBeCloseTo(some.bias[j]!, 6);
      expect(Array.from({ length: dIn }, (_, i) => some.encoder[i * 2 + j])).toEqual(Array.from(one.encoder));
      expect(Array.from(one.encoder)).toEqual(Array.from({ length: dIn }, (_, i) => wEnc[i * dSae + f]));
    }
    expect(readSaeFeatures(dir, 'all').encoder).toEqual(wEnc);
    expect(() => readSaeFeatures(dir, [10])).toThrow(/feature to be an index in 0\.\.9, got 10/);
  });
});
