import type { ModelConfig } from '../io/hf-config.ts';

/** Weights of one block's matrices (q, k, v, o and the MLP's), i.e. its multiply-adds per token. */
export function blockMatrixWeights(config: ModelConfig): number {
  const D = config.hidden;
  const kvDim = config.kvHeads * config.headDim;
  const mlpMatrices = config.arch === 'llama' ? 3 : 2; // gate, up, down | in, out
  return D * (D + 2 * kvDim) + D * D + mlpMatrices * D * config.intermediate;
}

/** Multiply-adds per token of a forward pass through every block and the unembedding (attention aside). */
export const macsPerToken = (config: ModelConfig): number =>
  config.layers * blockMatrixWeights(config) + config.hidden * config.vocabSize;
