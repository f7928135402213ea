import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigError, UnsupportedArchitectureError } from '../../src/io/errors.ts';
import { parseHfConfig, readHfConfig } from '../../src/io/hf-config.ts';

const fixture = (name: string) => `../shared/fixtures/${name}/config.json`;
const json = (name: string) => JSON.parse(readFileSync(fixture(name), 'utf8')) as Record<string, unknown>;

describe('the Hugging Face config parser', () => {
  it('reads a Llama config with grouped-query attention and an untied head', () => {
    expect(readHfConfig(fixture('llama-tiny-random'))).toEqual({
      arch: 'llama',
      vocabSize: 512,
      hidden: 64,
      layers: 2,
      heads: 4,
      kvHeads: 2,
      headDim: 16,
      intermediate: 128,
      rmsNormEps: 1e-5,
      ropeTheta: 10000,
      maxPositions: 256,
      tiedEmbeddings: false,
      rope: 'rotate-half',
      hiddenAct: 'silu',
      attentionBias: false,
      mlpBias: false,
      bosTokenId: 1,
      eosTokenId: 2,
    });
  });

  it('reads the converted stories260K config with a tied head', () => {
    expect(readHfConfig(fixture('stories260K-hf'))).toMatchObject({
      arch: 'llama',
      headDim: 8,
      kvHeads: 4,
      tiedEmbeddings: true,
    });
  });

  it('reads a GPT-NeoX config with partial rotary and parallel residual', () => {
    expect(readHfConfig(fixture('gpt-neox-tiny-random'))).toEqual({
      arch: 'gpt-neox',
      vocabSize: 512,
      hidden: 64,
      layers: 2,
      heads: 4,
      kvHeads: 4,
      headDim: 16,
      intermediate: 256,
      layerNormEps: 1e-5,
      rotaryPct: 0.25,
      rotaryEmbBase: 10000,
      parallelResidual: true,
      maxPositions: 2048,
      hiddenAct: 'gelu',
      tiedEmbeddings: false,
      attentionBias: true,
      bosTokenId: 0,
      eosTokenId: 0,
    });
  });

  it('reads a GPT-2 config, with n_inner null meaning 4 * n_embd', () => {
    expect(readHfConfig(fixture('gpt2-tiny-random'))).toEqual({
      arch: 'gpt2',
      vocabSize: 512,
      hidden: 64,
      layers: 2,
      heads: 4,
      kvHeads: 4,
      headDim: 16,
      intermediate: 256,
      layerNormEps: 1e-5,
      maxPositions: 64,
      activation: 'gelu_new',
      tiedEmbeddings: true,
      scaleAttnWeights: true,
      scaleAttnByInverseLayerIdx: false,
      bosTokenId: 0,
      eosTokenId: 0,
    });
  });

  it('derives head_dim from hidden / heads when the config has none', () => {
    const { head_dim: _, ...rest } = json('llama-tiny-random');
    expect(parseHfConfig({ ...rest, hidden_size: 96 })).toMatchObject({ headDim: 24 });
  });

  it('prefers rope_theta over rotary_emb_base for GPT-NeoX', () => {
    expect(parseHfConfig({ ...json('gpt-neox-tiny-random'), rope_theta: 500 })).toMatchObject({
      rotaryEmbBase: 500,
    });
  });

  it('falls back to model_type when architectures is missing', () => {
    const { architectures: _, ...rest } = json('gpt2-tiny-random');
    expect(parseHfConfig(rest).arch).toBe('gpt2');
  });

  it('rejects an unknown architecture with an UnsupportedArchitectureError listing the supported ones', () => {
    const config = { ...json('llama-tiny-random'), architectures: ['MambaForCausalLM'], model_type: 'mamba' };
    expect(() => parseHfConfig(config)).toThrow(UnsupportedArchitectureError);
    expect(() => parseHfConfig(config)).toThrow(
      /MambaForCausalLM is not supported; supported: LlamaForCausalLM, GPTNeoXForCausalLM, GPT2LMHeadModel/,
    );
  });

  it('rejects a missing or mistyped field with a ConfigError saying what it expected', () => {
    const { hidden_size: _, ...noHidden } = json('llama-tiny-random');
    expect(() => parseHfConfig(noHidden, 'x/config.json')).toThrow(ConfigError);
    expect(() => parseHfConfig(noHidden, 'x/config.json')).toThrow(
      'x/config.json: expected hidden_size to be a positive integer, got nothing (field missing)',
    );
    expect(() => parseHfConfig({ ...json('gpt2-tiny-random'), n_head: '4' })).toThrow(
      /expected n_head to be a positive integer, got "4"/,
    );
  });

  it('rejects heads that do not divide the hidden size, and RoPE scaling', () => {
    expect(() => parseHfConfig({ ...json('gpt2-tiny-random'), n_head: 5 })).toThrow(
      /n_embd to be a multiple of the head count 5/,
    );
    expect(() =>
      parseHfConfig({ ...json('llama-tiny-random'), rope_scaling: { type: 'linear', factor: 2 } }),
    ).toThrow(/rope_scaling/);
  });
});
