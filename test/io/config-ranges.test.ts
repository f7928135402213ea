import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/io/errors.ts';
import { parseHfConfig, readHfConfig } from '../../src/io/hf-config.ts';
import { openSafetensors, readSafetensors, writeSafetensors } from '../../src/io/safetensors.ts';
import type { HostTensor } from '../../src/io/tensors.ts';
import { loadModel, modelFromWeights, WeightMapError } from '../../src/models/index.ts';
import {
  copyFixture,
  fixtures,
  largestArrayWhile,
  namedError,
  namedRejection,
  scratch,
  put,
} from './corrupt.ts';

const tmp = scratch('config');
const config = (name: string) =>
  JSON.parse(readFileSync(join(fixtures, name, 'config.json'), 'utf8')) as Record<string, unknown>;

/** The ConfigError parsing `edit` over a fixture's config gives; it names the source and the field. */
function refused(fixture: string, edit: Record<string, unknown>, field: string): string {
  const error = namedError(
    () => parseHfConfig({ ...config(fixture), ...edit }, 'x/config.json'),
    'x/config.json',
  );
  expect(error).toBeInstanceOf(ConfigError);
  expect((error as ConfigError).field).toBe(field);
  return error.message;
}

/** A copy of a fixture whose config.json has `edit` applied. */
function editedFixture(fixture: string, edit: Record<string, unknown>): string {
  const dir = copyFixture(fixture, tmp);
  put(join(dir, 'config.json'), { ...config(fixture), ...edit });
  return dir;
}

describe('the ranges of a config.json', () => {
  it('hold rotary_pct in (0, 1]', () => {
    for (const pct of [0, -0.25, 1.5, '0.25'])
      expect(refused('gpt-neox-tiny-random', { rotary_pct: pct }, 'rotary_pct')).toContain(
        'expected rotary_pct to be a number in (0, 1]',
      );
    expect(parseHfConfig({ ...config('gpt-neox-tiny-random'), rotary_pct: 1 })).toMatchObject({
      rotaryPct: 1,
    });
  });

  it('hold a rotary_pct that rotates an even number of a head’s features', () => {
    expect(refused('gpt-neox-tiny-random', { rotary_pct: 3 / 16 }, 'rotary_pct')).toContain(
      'a fraction of the head size 16 that rotates an even number of features, got 0.1875',
    );
  });

  it('hold rope_theta and rotary_emb_base above 0', () => {
    for (const theta of [0, -10000]) {
      expect(refused('llama-tiny-random', { rope_theta: theta }, 'rope_theta')).toContain(
        'expected rope_theta to be a positive number',
      );
      expect(refused('gpt-neox-tiny-random', { rope_theta: theta }, 'rope_theta')).toContain(
        'a positive number',
      );
      expect(refused('gpt-neox-tiny-random', { rotary_emb_base: theta }, 'rotary_emb_base')).toContain(
        'a positive number',
      );
    }
  });

  it('hold norm epsilons at 0 or above', () => {
    expect(refused('llama-tiny-random', { rms_norm_eps: -1e-5 }, 'rms_norm_eps')).toContain(
      'a non-negative number',
    );
    expect(refused('gpt2-tiny-random', { layer_norm_epsilon: -1 }, 'layer_norm_epsilon')).toContain(
      'a non-negative number',
    );
  });

  it('hold positive integer dimensions, and head counts dividing the hidden size', () => {
    for (const bad of [0, -64, 64.5, '64', 1e300])
      expect(refused('gpt2-tiny-random', { n_embd: bad }, 'n_embd')).toContain(
        'expected n_embd to be a positive integer',
      );
    expect(refused('gpt-neox-tiny-random', { num_attention_heads: 5 }, 'hidden_size')).toContain(
      'a multiple of the head count 5',
    );
    expect(refused('llama-tiny-random', { num_key_value_heads: 3 }, 'num_key_value_heads')).toContain(
      'a divisor of num_attention_heads=4',
    );
  });

  it('hold no RoPE scaling, for Llama and GPT-NeoX alike', () => {
    const scaling = { rope_scaling: { type: 'linear', factor: 2 } };
    expect(refused('gpt-neox-tiny-random', scaling, 'rope_scaling')).toContain(
      'null (RoPE scaling is not supported)',
    );
    expect(refused('llama-tiny-random', scaling, 'rope_scaling')).toContain(
      'null (RoPE scaling is not supported)',
    );
  });

  it('hold an even Llama head size, for RoPE', () => {
    expect(refused('llama-tiny-random', { head_dim: 15 }, 'head_dim')).toContain('even (RoPE rotates pairs');
  });

  it('hold rotary tables that fit in memory', () => {
    expect(
      refused('llama-tiny-random', { max_position_embeddings: 1e9 }, 'max_position_embeddings'),
    ).toContain(
      'at most 16777216 (its rotary tables hold max_position_embeddings × head_dim 16 values), got 1000000000',
    );
  });

  it('hold activations the graph implements', () => {
    expect(refused('gpt2-tiny-random', { activation_function: 'relu' }, 'activation_function')).toContain(
      'unsupported activation "relu"',
    );
  });

  it('hold a head_dim given beside a hidden size its heads do not divide', () => {
    expect(parseHfConfig({ ...config('llama-tiny-random'), hidden_size: 66 })).toMatchObject({ headDim: 16 });
  });
});

describe('the dimensions of a config.json against its checkpoint', () => {
  it.each([
    ['gpt2-tiny-random', { n_embd: 16384 }, 'n_embd', 'transformer.wte.weight is [512, 64]'],
    ['gpt2-tiny-random', { n_embd: 1e9 }, 'n_embd', 'transformer.wte.weight is [512, 64]'],
    ['gpt2-tiny-random', { vocab_size: 50257 }, 'vocab_size', 'transformer.wte.weight is [512, 64]'],
    ['gpt2-tiny-random', { n_positions: 1024 }, 'n_positions', 'transformer.wpe.weight is [64, 64]'],
    ['gpt2-tiny-random', { n_inner: 4096 }, 'n_inner', 'transformer.h.0.mlp.c_fc.weight is [64, 256]'],
    ['gpt2-tiny-random', { n_layer: 48 }, 'n_layer', '2 (the number of layers in'],
    [
      'llama-tiny-random',
      { hidden_size: 4096, head_dim: 1024 },
      'hidden_size',
      'model.embed_tokens.weight is [512, 64]',
    ],
    [
      'llama-tiny-random',
      { num_key_value_heads: 4 },
      'num_key_value_heads × head_dim',
      'k_proj.weight is [32, 64]',
    ],
    ['llama-tiny-random', { intermediate_size: 11008 }, 'intermediate_size', 'gate_proj.weight is [128, 64]'],
    ['llama-tiny-random', { num_hidden_layers: 1 }, 'num_hidden_layers', '2 (the number of layers in'],
    [
      'gpt-neox-tiny-random',
      { intermediate_size: 1e6 },
      'intermediate_size',
      'dense_h_to_4h.weight is [256, 64]',
    ],
  ])(
    'of %s with %j are a ConfigError naming the file and %s, before anything large is allocated',
    async (fixture, edit, field, why) => {
      const dir = editedFixture(fixture, edit);
      const { error, largest } = await largestArrayWhile(() => loadModel(dir));
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).field).toBe(field);
      expect(error.message).toContain(`${join(dir, 'config.json')}: expected ${field} to be`);
      expect(error.message).toContain(why);
      expect(error.message).toContain(join(dir, 'model.safetensors'));
      expect(largest).toBeLessThanOrEqual(512 * 64);
    },
  );

  it('that do not fit a checkpoint missing the tensors that fix them stop the weight map before it allocates', async () => {
    const source = openSafetensors(join(fixtures, 'llama-tiny-random'));
    const without = {
      label: 'llama.safetensors',
      names: () => source.names().filter((n) => n !== 'model.embed_tokens.weight'),
      get: (n: string) => (n === 'model.embed_tokens.weight' ? undefined : source.get(n)),
    };
    const huge = readHfConfig(join(fixtures, 'llama-tiny-random', 'config.json'));
    const { error, largest } = await largestArrayWhile(async () =>
      modelFromWeights({ ...huge, vocabSize: 1e8 }, without),
    );
    expect(error).toBeInstanceOf(WeightMapError);
    expect(error.message).toContain('llama.safetensors does not fit llama');
    expect(error.message).toContain('missing    model.embed_tokens.weight [100000000,64]');
    expect(largest).toBeLessThanOrEqual(512 * 64);
  });

  it('leave a checkpoint that lacks a tensor to a WeightMapError naming the checkpoint file', async () => {
    const dir = copyFixture('gpt-neox-tiny-random', tmp);
    const file = join(dir, 'model.safetensors');
    const st = readSafetensors(file);
    const kept: Record<string, HostTensor> = {};
    for (const n of st.names()) if (n !== 'gpt_neox.final_layer_norm.bias') kept[n] = st.get(n)!;
    writeSafetensors(file, kept);
    const error = await namedRejection(loadModel(dir), file);
    expect(error).toBeInstanceOf(WeightMapError);
    expect(error.message).toContain(`${file} does not fit gpt-neox`);
    expect(error.message).toContain('missing    gpt_neox.final_layer_norm.bias [64]');
  });
});
