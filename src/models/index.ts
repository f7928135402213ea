/** Transformer language models as graphs: Llama, GPT-NeoX (Pythia) and GPT-2, with TransformerLens hooks. */
export { loadModel, modelFromWeights } from './load.ts';
export {
  makeModel,
  type Architecture,
  type BuildOptions,
  type BuildResult,
  type ForwardContext,
  type Model,
} from './model.ts';
export {
  BLOCK_HOOK_POINTS,
  editDistance,
  HookError,
  hookNames,
  HookRecorder,
  lastLayerNeeded,
  parseHook,
  UnknownHookError,
  type Hook,
  type HookPoint,
  type HookSpec,
} from './hooks.ts';
export { WeightMapError, WeightReader, type MisshapedTensor } from './weights.ts';
export { llamaArchitecture, llamaWeights, type LlamaParams } from './llama.ts';
export { gptNeoXArchitecture, gptNeoXWeights, type GptNeoXParams } from './gpt-neox.ts';
export { gpt2Architecture, gpt2Weights, type Gpt2Params } from './gpt2.ts';
export { generate, type GenerateOptions } from './generate.ts';
export { PYTHIA_70M_SHAPE, PYTHIA_160M_SHAPE, randomGptNeoX, randomGptNeoXWeights } from './random.ts';
