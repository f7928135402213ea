/** The models the benchmarks run, and the FLOPs of their forward pass counted from the shapes. */
import type { ModelConfig } from '../src/io/hf-config.ts';
import { loadModel } from '../src/models/load.ts';
import type { Model } from '../src/models/model.ts';
import { PYTHIA_160M_SHAPE, PYTHIA_70M_SHAPE, randomGptNeoX } from '../src/models/random.ts';

export const BENCH_MODELS: Record<string, () => Promise<Model>> = {
  stories260K: () => loadModel('karpathy/tinyllamas/stories260K'),
  'pythia-70m-shape': async () => randomGptNeoX(PYTHIA_70M_SHAPE, 0, 'pythia-70m-shape'),
};

/** The memory benchmark's model (not run by the speed benchmarks). */
export const pythia160mShape = (): Model => randomGptNeoX(PYTHIA_160M_SHAPE, 0, 'pythia-160m-shape');

/** Parameters of a model's weights as the engine holds them. */
export function parameterCount(config: ModelConfig): number {
  const D = config.hidden;
  const kv = (config.arch === 'llama' ? config.kvHeads : config.heads) * config.headDim;
  const mlp = (config.arch === 'llama' ? 3 : 2) * D * config.intermediate;
  const tied = config.tiedEmbeddings ? 1 : 2;
  return config.layers * (D * (D + 2 * kv) + D * D + mlp) + tied * D * config.vocabSize;
}

/**
 * Multiply-add FLOPs (2 per MAC) of one forward pass over `batch` sequences of `T` tokens with logits at
 * `logitPositions` positions: the projections and MLP per token, attention scores and mixing over the full
 * T×T matrix per head (as computed, mask included), and the unembedding.
 */
export function forwardFlops(config: ModelConfig, batch: number, T: number, logitPositions = T): number {
  const D = config.hidden;
  const headDim = config.headDim;
  const kvDim = (config.arch === 'llama' ? config.kvHeads : config.heads) * headDim;
  const mlpMatrices = config.arch === 'llama' ? 3 : 2;
  const perToken = D * (D + 2 * kvDim) + D * D + mlpMatrices * D * config.intermediate;
  const attention = 2 * T * T * config.heads * headDim; // q·kᵀ and pattern·v, per sequence per layer
  const layers = config.layers * (batch * T * perToken + batch * attention);
  return 2 * (layers + batch * logitPositions * D * config.vocabSize);
}
