/** The models the benchmarks run, and the FLOPs of their forward pass counted from the shapes. */
import type { ModelConfig } from '../src/io/hf-config.ts';
import { loadModel } from '../src/models/load.ts';
import type { Model } from '../src/models/model.ts';
import { blockMatrixWeights } from '../src/models/size.ts';
import { PYTHIA_160M_SHAPE, PYTHIA_70M_SHAPE, randomGptNeoX } from '../src/models/random.ts';

export const BENCH_MODELS: Record<string, () => Promise<Model>> = {
  stories260K: () => loadModel('karpathy/tinyllamas/stories260K'),
  'pythia-70m-shape': async () => randomGptNeoX(PYTHIA_70M_SHAPE, 0, 'pythia-70m-shape'),
};

/** The memory benchmark's model (not run by the speed benchmarks). */
export const pythia160mShape = (): Model => randomGptNeoX(PYTHIA_160M_SHAPE, 0, 'pythia-160m-shape');

/** Parameters of a model's weights as the engine holds them. */
export function parameterCount(config: ModelConfig): number {
  const tied = config.tiedEmbeddings ? 1 : 2;
  return config.layers * blockMatrixWeights(config) + tied * config.hidden * config.vocabSize;
}

/**
 * Multiply-add FLOPs (2 per MAC) of one forward pass over `batch` sequences of `T` tokens with logits at
 * `logitPositions` positions: the projections and MLP per token, attention scores and mixing over the full
 * T×T matrix per head (as computed, mask included), and the unembedding.
 */
export function forwardFlops(config: ModelConfig, batch: number, T: number, logitPositions = T): number {
  const attention = 2 * T * T * config.heads * config.headDim; // q·kᵀ and pattern·v, per sequence per layer
  const layers = config.layers * (batch * T * blockMatrixWeights(config) + batch * attention);
  return 2 * (layers + batch * logitPositions * config.hidden * config.vocabSize);
}
