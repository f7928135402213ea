import type { ModelConfig } from '../io/hf-config.ts';
import { readHfConfig } from '../io/hf-config.ts';
import { readLlama2c } from '../io/llama2c.ts';
import { resolveModel, DEFAULT_MODEL, type ResolveOptions } from '../io/resolve.ts';
import { openSafetensors } from '../io/safetensors.ts';
import type { WeightSource } from '../io/tensors.ts';
import { loadTokenizer } from '../tokenizers/load.ts';
import type { Tokenizer } from '../tokenizers/tokenizer.ts';
import { gpt2Architecture, gpt2Weights } from './gpt2.ts';
import { gptNeoXArchitecture, gptNeoXWeights } from './gpt-neox.ts';
import { llamaArchitecture, llamaWeights } from './llama.ts';
import { makeModel, type Architecture, type Model } from './model.ts';

/** A model from its config and checkpoint tensors: the architecture's weight map, then its forward pass. */
export function modelFromWeights(
  config: ModelConfig,
  weights: WeightSource,
  options: { id?: string; tokenizer?: Tokenizer } = {},
): Model {
  let arch: Architecture;
  switch (config.arch) {
    case 'llama':
      arch = llamaArchitecture(config, llamaWeights(config, weights));
      break;
    case 'gpt-neox':
      arch = gptNeoXArchitecture(config, gptNeoXWeights(config, weights));
      break;
    case 'gpt2':
      arch = gpt2Architecture(config, gpt2Weights(config, weights));
      break;
  }
  return makeModel(options.id ?? config.arch, config, arch, options.tokenizer);
}

/**
 * Loads a model by path or hub id (see resolveModel: REVERIE_MODEL_PATH, the cache, then the hub): a Hugging
 * Face directory (config.json, safetensors, tokenizer.json) or a llama2.c checkpoint with its tokenizer.bin.
 */
export async function loadModel(
  idOrPath: string = DEFAULT_MODEL,
  options: ResolveOptions = {},
): Promise<Model> {
  const resolved = await resolveModel(idOrPath, options);
  const tokenizer = resolved.files.tokenizer ? loadTokenizer(resolved.files.tokenizer) : undefined;
  const opts = { id: resolved.id, ...(tokenizer && { tokenizer }) };
  if (resolved.format === 'llama2c') {
    const checkpoint = readLlama2c(resolved.files.weights);
    return modelFromWeights(checkpoint.config, checkpoint.weights, opts);
  }
  const config = readHfConfig(resolved.files.config as string);
  return modelFromWeights(config, openSafetensors(resolved.files.weights), opts);
}
