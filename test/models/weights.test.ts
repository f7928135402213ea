import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { input } from '../../src/graph/index.ts';
import { UnsupportedArchitectureError } from '../../src/io/errors.ts';
import { readHfConfig, type GptNeoXConfig } from '../../src/io/hf-config.ts';
import { encodeSafetensors, openSafetensors } from '../../src/io/safetensors.ts';
import type { HostTensor, WeightSource } from '../../src/io/tensors.ts';
import { loadModel, modelFromWeights, WeightMapError, type Model } from '../../src/models/index.ts';
import { compile } from '../../src/runtime/index.ts';

const fixture = (name: string) => `../shared/fixtures/${name}`;

/** A checkpoint with tensors renamed, dropped, replaced or added. */
function edited(source: WeightSource, edit: (tensors: Map<string, HostTensor>) => void): WeightSource {
  const tensors = new Map(source.names().map((n) => [n, source.get(n)!] as const));
  edit(tensors);
  return { names: () => [...tensors.keys()], get: (n) => tensors.get(n) };
}

async function logitsOf(model: Model): Promise<Float32Array> {
  const tokens = input('tokens', 'int64', [1, 4]);
  const session = await compile({ outputs: { logits: model.build({ tokens }).logits! }, threads: 1 });
  const out = await session.run({
    tokens: { dtype: 'int64', shape: [1, 4], data: BigInt64Array.from([3n, 1n, 4n, 1n]) },
  });
  await session.dispose();
  return out.logits!.data as Float32Array;
}

describe.each([
  ['llama-tiny-random', 'model.layers.1.mlp.up_proj.weight', 'model.norm.weight'],
  ['gpt-neox-tiny-random', 'gpt_neox.layers.0.attention.query_key_value.bias', 'embed_out.weight'],
  ['gpt2-tiny-random', 'transformer.h.1.mlp.c_fc.bias', 'transformer.wpe.weight'],
])('the weight map of %s', (name, dropped, reshaped) => {
  const config = readHfConfig(join(fixture(name), 'config.json'));
  const source = openSafetensors(fixture(name));

  it('consumes every tensor of the checkpoint', () => {
    expect(() => modelFromWeights(config, source)).not.toThrow();
  });

  it('fails with a WeightMapError listing missing, unexpected and mis-shaped tensors by name', () => {
    const broken = edited(source, (t) => {
      t.delete(dropped);
      t.set('extra.weight', { shape: [2, 3], data: new Float32Array(6) });
      t.set(reshaped, { shape: [7], data: new Float32Array(7) });
    });
    let error: unknown;
    try {
      modelFromWeights(config, broken);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(WeightMapError);
    const e = error as WeightMapError;
    expect(e.missing.map((m) => m.name)).toEqual([dropped]);
    expect(e.unexpected.map((m) => m.name)).toEqual(['extra.weight']);
    expect(e.misshaped).toEqual([{ name: reshaped, expected: source.get(reshaped)!.shape, got: [7] }]);
    expect(e.message).toContain(`missing    ${dropped}`);
    expect(e.message).toContain('unexpected extra.weight [2,3]');
    expect(e.message).toContain(
      `mis-shaped ${reshaped}: expected [${source.get(reshaped)!.shape.join(',')}], got [7]`,
    );
  });
});

describe('checkpoint variants', () => {
  it('reads GPT-2 saved without the transformer. prefix, with its causal-mask buffers, to the same logits', async () => {
    const dir = fixture('gpt2-tiny-random');
    const config = readHfConfig(join(dir, 'config.json'));
    const source = openSafetensors(dir);
    const original = edited(source, (t) => {
      for (const [n, v] of [...t]) {
        t.delete(n);
        t.set(n.replace(/^transformer\./, ''), v);
      }
      t.set('h.0.attn.bias', { shape: [1, 1, 64, 64], data: new Float32Array(64 * 64) });
      t.set('h.0.attn.masked_bias', { shape: [], data: new Float32Array(1) });
    });
    expect(await logitsOf(modelFromWeights(config, original))).toEqual(
      await logitsOf(modelFromWeights(config, source)),
    );
  });

  it('skips the rotary and mask buffers of older Pythia checkpoints', () => {
    const dir = fixture('gpt-neox-tiny-random');
    const config = readHfConfig(join(dir, 'config.json'));
    const withBuffers = edited(openSafetensors(dir), (t) => {
      t.set('gpt_neox.layers.0.attention.rotary_emb.inv_freq', { shape: [2], data: new Float32Array(2) });
      t.set('gpt_neox.layers.0.attention.bias', { shape: [1], data: new Float32Array(1) });
      t.set('gpt_neox.layers.0.attention.masked_bias', { shape: [], data: new Float32Array(1) });
    });
    expect(() => modelFromWeights(config, withBuffers)).not.toThrow();
  });

  it('runs GPT-NeoX with a sequential residual, where the MLP reads x + attn_out', async () => {
    const dir = fixture('gpt-neox-tiny-random');
    const source = openSafetensors(dir);
    const config: GptNeoXConfig = {
      ...(readHfConfig(join(dir, 'config.json')) as GptNeoXConfig),
      parallelResidual: false,
    };
    const model = modelFromWeights(config, source);
    const names = ['blocks.0.hook_resid_pre', 'blocks.0.hook_attn_out', 'blocks.0.mlp.hook_pre'];
    const tokens = input('tokens', 'int64', [1, 4]);
    const session = await compile({ outputs: model.build({ tokens, hooks: names }).hooks, threads: 1 });
    const out = await session.run({
      tokens: { dtype: 'int64', shape: [1, 4], data: BigInt64Array.from([3n, 1n, 4n, 1n]) },
    });
    await session.dispose();
    const [resid, attn, pre] = names.map((n) => out[n]!.data as Float32Array) as [
      Float32Array,
      Float32Array,
      Float32Array,
    ];
    // pre = W_in · LayerNorm(x + attn_out) + b_in, recomputed here in float64
    const w = (n: string) => source.get(`gpt_neox.layers.0.${n}`)!.data;
    const [lnW, lnB, wIn, bIn] = [
      'post_attention_layernorm.weight',
      'post_attention_layernorm.bias',
      'mlp.dense_h_to_4h.weight',
      'mlp.dense_h_to_4h.bias',
    ].map(w) as Float32Array[];
    const D = 64;
    const I = 256;
    let worst = 0;
    for (let t = 0; t < 4; t++) {
      const x = Array.from({ length: D }, (_, i) => resid[t * D + i]! + attn[t * D + i]!);
      const mean = x.reduce((a, b) => a + b, 0) / D;
      const variance = x.reduce((a, b) => a + (b - mean) ** 2, 0) / D;
      const h = x.map(
        (v, i) => ((v - mean) / Math.sqrt(variance + config.layerNormEps)) * lnW![i]! + lnB![i]!,
      );
      for (let j = 0; j < I; j++) {
        const expected = h.reduce((a, v, i) => a + v * wIn![j * D + i]!, bIn![j]!);
        worst = Math.max(worst, Math.abs(expected - pre[t * I + j]!));
      }
    }
    expect(worst).toBeLessThan(1e-4);
  });

  it('uses W_E as the head of a tied checkpoint even when lm_head.weight is saved beside it', async () => {
    const dir = fixture('stories260K-hf');
    const config = readHfConfig(join(dir, 'config.json'));
    const source = openSafetensors(dir);
    const withHead = edited(source, (t) =>
      t.set('lm_head.weight', { ...t.get('model.embed_tokens.weight')!, data: new Float32Array(512 * 64) }),
    );
    expect(await logitsOf(modelFromWeights(config, withHead))).toEqual(
      await logitsOf(modelFromWeights(config, source)),
    );
  });
});

describe('loading a model', () => {
  const dir = mkdtempSync(join(tmpdir(), 'reverie-models-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('rejects a config of an unknown architecture, naming the supported ones', async () => {
    writeFileSync(
      join(dir, 'config.json'),
      JSON.stringify({ architectures: ['BertForMaskedLM'], model_type: 'bert' }),
    );
    writeFileSync(
      join(dir, 'model.safetensors'),
      encodeSafetensors({ w: { shape: [1], data: new Float32Array(1) } }),
    );
    const load = loadModel(dir);
    await expect(load).rejects.toThrow(UnsupportedArchitectureError);
    await expect(loadModel(dir)).rejects.toThrow(
      /BertForMaskedLM.*LlamaForCausalLM, GPTNeoXForCausalLM, GPT2LMHeadModel/,
    );
  });

  it('loads a Hugging Face directory by path, without a tokenizer when it has none', async () => {
    const model = await loadModel(fixture('llama-tiny-random'));
    expect(model.config.arch).toBe('llama');
    expect(model.tokenizer).toBeUndefined();
    expect(model.hookNames).toContain('blocks.1.mlp.hook_pre_linear');
  });
});
