import { beforeAll, describe, expect, it } from 'vitest';
import { input, type Node } from '../../src/graph/index.ts';
import {
  HookError,
  hookNames,
  lastLayerNeeded,
  loadModel,
  parseHook,
  UnknownHookError,
  type Model,
} from '../../src/models/index.ts';
import { compile } from '../../src/runtime/index.ts';

const T = 6;
const ids = [5, 17, 300, 42, 9, 511];

async function run(outputs: Record<string, Node>): Promise<Record<string, Float32Array>> {
  const session = await compile({ outputs, threads: 1 });
  const out = await session.run({
    tokens: { dtype: 'int64', shape: [1, T], data: BigInt64Array.from(ids, BigInt) },
  });
  await session.dispose();
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.data as Float32Array]));
}

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) =>
  Array.from(a).reduce((worst, v, i) => Math.max(worst, Math.abs(v - (b[i] as number))), 0);

describe('hook names', () => {
  const spec = { layers: 2 };

  it('are the TransformerLens names, in forward order', () => {
    expect(hookNames(spec)).toEqual([
      'hook_embed',
      'blocks.0.hook_resid_pre',
      'blocks.0.attn.hook_pattern',
      'blocks.0.hook_attn_out',
      'blocks.0.mlp.hook_pre',
      'blocks.0.mlp.hook_post',
      'blocks.0.hook_mlp_out',
      'blocks.0.hook_resid_post',
      'blocks.1.hook_resid_pre',
      'blocks.1.attn.hook_pattern',
      'blocks.1.hook_attn_out',
      'blocks.1.mlp.hook_pre',
      'blocks.1.mlp.hook_post',
      'blocks.1.hook_mlp_out',
      'blocks.1.hook_resid_post',
      'ln_final.hook_normalized',
    ]);
  });

  it('include hook_pos_embed for learned positions and mlp.hook_pre_linear for gated MLPs', () => {
    expect(hookNames({ layers: 1, positionEmbedding: true })).toContain('hook_pos_embed');
    expect(hookNames({ layers: 1, gatedMlp: true })).toContain('blocks.0.mlp.hook_pre_linear');
    expect(hookNames(spec)).not.toContain('blocks.0.mlp.hook_pre_linear');
  });

  it('parse into a point and a layer', () => {
    expect(parseHook('blocks.1.mlp.hook_post', spec)).toEqual({
      name: 'blocks.1.mlp.hook_post',
      point: 'mlp.hook_post',
      layer: 1,
    });
    expect(parseHook('hook_embed', spec)).toEqual({ name: 'hook_embed', point: 'hook_embed' });
  });

  it.each([
    ['blocks.1.mlp.hook_psot', 'blocks.1.mlp.hook_post'],
    ['hook_embd', 'hook_embed'],
    ['blocks.0.attn.pattern', 'blocks.0.attn.hook_pattern'],
    ['blocks.1.hook_resid_mid', 'blocks.1.hook_resid_pre'],
    ['ln_final.hook_normalised', 'ln_final.hook_normalized'],
    ['blocks.7.hook_resid_post', 'blocks.1.hook_resid_post'],
  ])('reject %s with an UnknownHookError naming the nearest valid hook, %s', (name, nearest) => {
    expect(() => parseHook(name, spec)).toThrow(UnknownHookError);
    expect(() => parseHook(name, spec)).toThrow(`did you mean "${nearest}"`);
  });

  it('say when a layer is out of range', () => {
    expect(() => parseHook('blocks.7.hook_resid_post', spec)).toThrow('layer 7 is out of range');
  });

  it('give the last block a set of hooks needs', () => {
    expect(lastLayerNeeded(['hook_embed'], spec)).toBe(-1);
    expect(lastLayerNeeded(['blocks.0.hook_resid_pre', 'blocks.1.mlp.hook_post'], spec)).toBe(1);
    expect(lastLayerNeeded(['ln_final.hook_normalized'], spec)).toBeUndefined();
  });
});

describe.each(['llama-tiny-random', 'gpt-neox-tiny-random', 'gpt2-tiny-random'])(
  'the hooks of %s',
  (fixture) => {
    let model: Model;
    let values: Record<string, Float32Array>;
    const tokens = input('tokens', 'int64', [1, T]);

    beforeAll(async () => {
      model = await loadModel(`../shared/fixtures/${fixture}`);
      const { logits, hooks } = model.build({ tokens, hooks: model.hookNames });
      values = await run({ logits: logits!, ...hooks });
    });

    it('chain the residual stream: resid_post = resid_pre + attn_out + mlp_out = the next resid_pre', () => {
      const at = (name: string) => values[name]!;
      for (const l of [0, 1]) {
        const sum = at(`blocks.${l}.hook_resid_pre`).map(
          (x, i) => x + at(`blocks.${l}.hook_attn_out`)[i]! + at(`blocks.${l}.hook_mlp_out`)[i]!,
        );
        expect(maxAbsDiff(sum, at(`blocks.${l}.hook_resid_post`))).toBeLessThan(1e-5);
      }
      expect(at('blocks.1.hook_resid_pre')).toEqual(at('blocks.0.hook_resid_post'));
    });

    it('give attention patterns whose rows are causal probabilities', () => {
      const pattern = values['blocks.0.attn.hook_pattern']!; // [1,H,T,T]
      const H = pattern.length / (T * T);
      for (let h = 0; h < H; h++)
        for (let q = 0; q < T; q++) {
          const row = pattern.subarray((h * T + q) * T, (h * T + q + 1) * T);
          expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
          for (let k = q + 1; k < T; k++) expect(row[k]).toBe(0);
        }
    });

    it('stop after a given layer with the same early hook values and no logits', async () => {
      const early = model.build({ tokens, stopAfterLayer: 0, hooks: ['blocks.0.mlp.hook_post'] });
      expect(early.logits).toBeUndefined();
      const got = await run(early.hooks);
      // float32 rounding only: ONNX Runtime may fuse the GELU of the shorter graph differently.
      expect(maxAbsDiff(got['blocks.0.mlp.hook_post']!, values['blocks.0.mlp.hook_post']!)).toBeLessThan(
        1e-5,
      );
    });

    it('refuse a hook past the layer the build stops after', () => {
      expect(() => model.build({ tokens, stopAfterLayer: 0, hooks: ['blocks.1.hook_resid_pre'] })).toThrow(
        HookError,
      );
      expect(() => model.build({ tokens, stopAfterLayer: 1, hooks: ['ln_final.hook_normalized'] })).toThrow(
        HookError,
      );
    });

    it('reject an unknown hook name when building, naming the nearest one', () => {
      expect(() => model.build({ tokens, hooks: ['blocks.1.mlp.hook_psot'] })).toThrow(
        /unknown hook "blocks\.1\.mlp\.hook_psot"; did you mean "blocks\.1\.mlp\.hook_post"/,
      );
    });
  },
);
