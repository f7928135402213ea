import { activation } from '../nn/activations.ts';
import { ConfigError, UnsupportedArchitectureError } from './errors.ts';
import { readJsonFile } from './files.ts';

/** The fields every architecture's config has. */
interface CommonConfig {
  vocabSize: number;
  hidden: number;
  layers: number;
  heads: number;
  /** Key/value heads: fewer than `heads` where attention is grouped (GQA), else `heads`. */
  kvHeads: number;
  headDim: number;
  intermediate: number;
  maxPositions: number;
  tiedEmbeddings: boolean;
  bosTokenId?: number;
  eosTokenId?: number;
}

export interface LlamaConfig extends CommonConfig {
  arch: 'llama';
  rmsNormEps: number;
  ropeTheta: number;
  /** 'rotate-half' pairs dimension i with i + headDim/2 (HF); 'interleaved' pairs 2i with 2i+1 (llama2.c). */
  rope: 'rotate-half' | 'interleaved';
  hiddenAct: string;
  attentionBias: boolean;
  mlpBias: boolean;
}

export interface GptNeoXConfig extends CommonConfig {
  arch: 'gpt-neox';
  layerNormEps: number;
  /** Fraction of each head's dimensions that get rotary embeddings. */
  rotaryPct: number;
  rotaryEmbBase: number;
  parallelResidual: boolean;
  hiddenAct: string;
  attentionBias: boolean;
}

export interface Gpt2Config extends CommonConfig {
  arch: 'gpt2';
  layerNormEps: number;
  activation: string;
  scaleAttnWeights: boolean;
  scaleAttnByInverseLayerIdx: boolean;
}

export type ModelConfig = LlamaConfig | GptNeoXConfig | Gpt2Config;
export type Arch = ModelConfig['arch'];

const ARCHITECTURES: Readonly<Record<string, Arch>> = {
  LlamaForCausalLM: 'llama',
  GPTNeoXForCausalLM: 'gpt-neox',
  GPT2LMHeadModel: 'gpt2',
};
const MODEL_TYPES: Readonly<Record<string, Arch>> = { llama: 'llama', gpt_neox: 'gpt-neox', gpt2: 'gpt2' };

export const SUPPORTED_ARCHITECTURES = Object.keys(ARCHITECTURES);

export function readHfConfig(path: string): ModelConfig {
  return parseHfConfig(readJsonFile(path), path);
}

export function parseHfConfig(json: unknown, source = 'config.json'): ModelConfig {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new ConfigError(source, 'the config', 'a JSON object', json);
  }
  const f = fields(json as Record<string, unknown>, source);
  const archs = f.raw.architectures;
  let arch: Arch | undefined;
  if (Array.isArray(archs) && archs.length > 0) {
    arch = ARCHITECTURES[String(archs[0])];
    if (!arch) throw new UnsupportedArchitectureError(String(archs[0]), SUPPORTED_ARCHITECTURES, source);
  } else {
    arch = MODEL_TYPES[String(f.raw.model_type)];
    if (!arch) {
      throw new UnsupportedArchitectureError(
        `(no "architectures"; model_type ${JSON.stringify(f.raw.model_type)})`,
        SUPPORTED_ARCHITECTURES,
        source,
      );
    }
  }
  const ids = { bosTokenId: f.tokenId('bos_token_id'), eosTokenId: f.tokenId('eos_token_id') };
  if (arch !== 'gpt2' && f.raw.rope_scaling != null)
    throw new ConfigError(source, 'rope_scaling', 'null (RoPE scaling is not supported)', f.raw.rope_scaling);
  if (arch === 'llama') {
    const hidden = f.int('hidden_size');
    const heads = f.int('num_attention_heads');
    const kvHeads = f.int('num_key_value_heads', heads);
    if (heads % kvHeads !== 0) {
      throw new ConfigError(
        source,
        'num_key_value_heads',
        `a divisor of num_attention_heads=${heads}`,
        kvHeads,
      );
    }
    const headDim = f.raw.head_dim == null ? divide(f, hidden, heads, 'hidden_size') : f.int('head_dim');
    if (headDim % 2 !== 0)
      throw new ConfigError(source, 'head_dim', 'even (RoPE rotates pairs of features)', headDim);
    return {
      arch,
      vocabSize: f.int('vocab_size'),
      hidden,
      layers: f.int('num_hidden_layers'),
      heads,
      kvHeads,
      headDim,
      intermediate: f.int('intermediate_size'),
      rmsNormEps: f.num('rms_norm_eps', 1e-6, NON_NEGATIVE),
      ropeTheta: f.num('rope_theta', 10000, POSITIVE),
      maxPositions: rotaryPositions(f, headDim),
      tiedEmbeddings: f.bool('tie_word_embeddings', false),
      rope: 'rotate-half',
      hiddenAct: f.activation('hidden_act', 'silu'),
      attentionBias: f.bool('attention_bias', false),
      mlpBias: f.bool('mlp_bias', false),
      ...ids,
    };
  }
  if (arch === 'gpt-neox') {
    const hidden = f.int('hidden_size');
    const heads = f.int('num_attention_heads');
    const headDim = divide(f, hidden, heads, 'hidden_size');
    const rotaryPct = f.num('rotary_pct', 0.25, FRACTION);
    // HF: rotary_ndims = int(head_size * rotary_pct), rotated in pairs.
    if (Math.floor(headDim * rotaryPct) % 2 !== 0)
      throw new ConfigError(
        source,
        'rotary_pct',
        `a fraction of the head size ${headDim} that rotates an even number of features`,
        rotaryPct,
      );
    return {
      arch,
      vocabSize: f.int('vocab_size'),
      hidden,
      layers: f.int('num_hidden_layers'),
      heads,
      kvHeads: heads,
      headDim,
      intermediate: f.int('intermediate_size'),
      layerNormEps: f.num('layer_norm_eps', 1e-5, NON_NEGATIVE),
      rotaryPct,
      rotaryEmbBase: f.num('rope_theta', f.num('rotary_emb_base', 10000, POSITIVE), POSITIVE),
      parallelResidual: f.bool('use_parallel_residual', true),
      maxPositions: rotaryPositions(f, headDim),
      hiddenAct: f.activation('hidden_act', 'gelu'),
      tiedEmbeddings: f.bool('tie_word_embeddings', false),
      attentionBias: f.bool('attention_bias', true),
      ...ids,
    };
  }
  const hidden = f.int('n_embd');
  const heads = f.int('n_head');
  return {
    arch,
    vocabSize: f.int('vocab_size'),
    hidden,
    layers: f.int('n_layer'),
    heads,
    kvHeads: heads,
    headDim: divide(f, hidden, heads, 'n_embd'),
    intermediate: f.int('n_inner', 4 * hidden),
    layerNormEps: f.num('layer_norm_epsilon', 1e-5, NON_NEGATIVE),
    maxPositions: f.int('n_positions', 1024),
    activation: f.activation('activation_function', 'gelu_new'),
    tiedEmbeddings: f.bool('tie_word_embeddings', true),
    scaleAttnWeights: f.bool('scale_attn_weights', true),
    scaleAttnByInverseLayerIdx: f.bool('scale_attn_by_inverse_layer_idx', false),
    ...ids,
  };
}

type Fields = ReturnType<typeof fields>;

/** A range of numbers a field may take, and how an error describes it. */
interface Range {
  ok: (v: number) => boolean;
  expected: string;
}
const POSITIVE: Range = { ok: (v) => v > 0, expected: 'a positive number' };
const NON_NEGATIVE: Range = { ok: (v) => v >= 0, expected: 'a non-negative number' };
const FRACTION: Range = { ok: (v) => v > 0 && v <= 1, expected: 'a number in (0, 1]' };

/** The rotary tables hold max_position_embeddings × head_dim float64 values each (nn/rotary.ts). */
const MAX_ROTARY_VALUES = 2 ** 28;

function rotaryPositions(f: Fields, headDim: number): number {
  const positions = f.int('max_position_embeddings', 2048);
  const most = Math.floor(MAX_ROTARY_VALUES / headDim);
  if (positions > most)
    throw new ConfigError(
      f.source,
      'max_position_embeddings',
      `at most ${most} (its rotary tables hold max_position_embeddings × head_dim ${headDim} values)`,
      positions,
    );
  return positions;
}

function divide(f: Fields, hidden: number, heads: number, field: string): number {
  if (hidden % heads !== 0)
    throw new ConfigError(f.source, field, `a multiple of the head count ${heads}`, hidden);
  return hidden / heads;
}

/** Typed accessors: a missing or null field takes the default; with no default it is an error. */
function fields(raw: Record<string, unknown>, source: string) {
  function get<T>(key: string, ok: (v: unknown) => v is T, expected: string, fallback?: T): T {
    const v = raw[key];
    if ((v === undefined || v === null) && fallback !== undefined) return fallback;
    if (!ok(v)) throw new ConfigError(source, key, expected, v);
    return v;
  }
  const isPosInt = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) > 0;
  const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
  const isBool = (v: unknown): v is boolean => typeof v === 'boolean';
  const isStr = (v: unknown): v is string => typeof v === 'string';
  return {
    raw,
    source,
    int: (key: string, fallback?: number) => get(key, isPosInt, 'a positive integer', fallback),
    num: (key: string, fallback: number, range: Range) =>
      get(key, (v): v is number => isNum(v) && range.ok(v), range.expected, fallback),
    bool: (key: string, fallback?: boolean) => get(key, isBool, 'a boolean', fallback),
    activation(key: string, fallback: string): string {
      const name = get(key, isStr, 'a string', fallback);
      try {
        activation(name);
      } catch (error) {
        throw new ConfigError(source, key, `a supported activation (${(error as Error).message})`, name);
      }
      return name;
    },
    tokenId(key: string): number | undefined {
      const v = raw[key];
      const first = Array.isArray(v) ? v[0] : v;
      return Number.isSafeInteger(first) && (first as number) >= 0 ? (first as number) : undefined;
    },
  };
}
