import { readHfConfig } from '../io/hf-config.ts';
import { readLlama2c } from '../io/llama2c.ts';
import { resolveModel, DEFAULT_MODEL, type ResolveOptions } from '../io/resolve.ts';
import { openSafetensors } from '../io/safetensors.ts';
import { loadTokenizer } from '../tokenizers/load.ts';
import { modelFromWeights } from './from-bytes.ts';
import type { Model } from './model.ts';

export { llama2cModel, modelFromWeights } from './from-bytes.ts';

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
  const configSource = resolved.files.config as string;
  const config = readHfConfig(configSource);
  return modelFromWeights(config, openSafetensors(resolved.files.weights), { ...opts, configSource });
}
