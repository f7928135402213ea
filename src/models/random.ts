import { Rng } from '../graph/index.ts';
import { parseHfConfig, type GptNeoXConfig } from '../io/hf-config.ts';
import type { WeightSource } from '../io/tensors.ts';
import { modelFromWeights } from './load.ts';
import type { Model } from './model.ts';

/** Pythia-70m's shape (EleutherAI/pythia-70m config.json). */
export const PYTHIA_70M_SHAPE = {
  architectures: ['GPTNeoXForCausalLM'],
  hidden_size: 512,
  num_hidden_layers: 6,
  num_attention_heads: 8,
  intermediate_size: 2048,
  vocab_size: 50304,
  rotary_pct: 0.25,
  rotary_emb_base: 10000,
  max_position_embeddings: 2048,
  layer_norm_eps: 1e-5,
  hidden_act: 'gelu',
  use_parallel_residual: true,
  tie_word_embeddings: false,
};

/** Pythia-160m's shape. */
export const PYTHIA_160M_SHAPE = {
  ...PYTHIA_70M_SHAPE,
  hidden_size: 768,
  num_hidden_layers: 12,
  num_attention_heads: 12,
  intermediate_size: 3072,
};

/**
 * Seeded random weights under Hugging Face GPT-NeoX names: N(0, 0.02²) matrices and embeddings, unit norm
 * weights, zero-mean small biases. Such a model costs exactly what a trained one of its shape costs. Each
 * tensor is drawn when it is read, from its own seed, and not kept: loading then holds one copy of the
 * weights (the model's), not two.
 */
export function randomGptNeoXWeights(config: GptNeoXConfig, seed: number): WeightSource {
  const shapes = new Map<string, { shape: number[]; init: 'normal' | 'one' }>();
  const add = (name: string, shape: number[], init: 'normal' | 'one') => shapes.set(name, { shape, init });
  const { hidden: D, intermediate: I, vocabSize: V } = config;
  add('gpt_neox.embed_in.weight', [V, D], 'normal');
  for (let l = 0; l < config.layers; l++) {
    const at = `gpt_neox.layers.${l}`;
    for (const norm of ['input_layernorm', 'post_attention_layernorm']) {
      add(`${at}.${norm}.weight`, [D], 'one');
      add(`${at}.${norm}.bias`, [D], 'normal');
    }
    add(`${at}.attention.query_key_value.weight`, [3 * D, D], 'normal');
    add(`${at}.attention.query_key_value.bias`, [3 * D], 'normal');
    add(`${at}.attention.dense.weight`, [D, D], 'normal');
    add(`${at}.attention.dense.bias`, [D], 'normal');
    add(`${at}.mlp.dense_h_to_4h.weight`, [I, D], 'normal');
    add(`${at}.mlp.dense_h_to_4h.bias`, [I], 'normal');
    add(`${at}.mlp.dense_4h_to_h.weight`, [D, I], 'normal');
    add(`${at}.mlp.dense_4h_to_h.bias`, [D], 'normal');
  }
  add('gpt_neox.final_layer_norm.weight', [D], 'one');
  add('gpt_neox.final_layer_norm.bias', [D], 'normal');
  add('embed_out.weight', [V, D], 'normal');
  const names = [...shapes.keys()];
  return {
    names: () => names,
    get(name) {
      const spec = shapes.get(name);
      if (!spec) return undefined;
      const data = new Float32Array(spec.shape.reduce((a, b) => a * b, 1));
      if (spec.init === 'one') data.fill(1);
      else {
        const rng = new Rng(seed * 7919 + names.indexOf(name));
        for (let i = 0; i < data.length; i++) data[i] = 0.02 * rng.normal();
      }
      return { shape: spec.shape, data };
    },
  };
}

/** A random GPT-NeoX model of the given Hugging Face config shape (no tokenizer). */
export function randomGptNeoX(shape: Record<string, unknown>, seed = 0, id = 'random-gpt-neox'): Model {
  const config = parseHfConfig(shape, id);
  if (config.arch !== 'gpt-neox') throw new Error(`expected a GPT-NeoX config, got ${config.arch}`);
  return modelFromWeights(config, randomGptNeoXWeights(config, seed), { id });
}
