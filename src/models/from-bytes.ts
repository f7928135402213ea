/**
 * Models from bytes already in memory: the architectures' weight maps over a config and its tensors, and a
 * llama2.c checkpoint with its tokenizer from two byte arrays (what a browser fetches). No file system here;
 * ./load.ts reads files and calls these.
 */
import { ConfigError } from '../io/errors.ts';
import type { Arch, ModelConfig } from '../io/hf-config.ts';
import { memoryBytes } from '../io/bytes.ts';
import { openLlama2c } from '../io/llama2c.ts';
import type { WeightSource } from '../io/tensors.ts';
import { Llama2cTokenizer } from '../tokenizers/llama2c.ts';
import type { Tokenizer } from '../tokenizers/tokenizer.ts';
import { gpt2Architecture, gpt2Weights } from './gpt2.ts';
import { gptNeoXArchitecture, gptNeoXWeights } from './gpt-neox.ts';
import { llamaArchitecture, llamaWeights } from './llama.ts';
import { makeModel, type Architecture, type Model } from './model.ts';

/** A config.json field (or product of fields) and its value in the parsed config. */
type Field = readonly [name: string, value: (config: ModelConfig) => number];

/** A [rows, cols] checkpoint matrix whose axes fix config fields. */
type Pin = readonly [tensor: string, rows: Field | undefined, cols: Field | undefined];

const VOCAB: Field = ['vocab_size', (c) => c.vocabSize];

/**
 * Per architecture: the pattern of a layer's tensor names, the field counting layers, and the matrices
 * that fix every dimension the weight map allocates with (GPT-2's names may lack `transformer.`).
 */
const PINS: Readonly<Record<Arch, { layer: RegExp; layers: string; matrices: readonly Pin[] }>> = {
  llama: {
    layer: /^model\.layers\.(\d+)\./,
    layers: 'num_hidden_layers',
    matrices: [
      ['model.embed_tokens.weight', VOCAB, ['hidden_size', (c) => c.hidden]],
      [
        'model.layers.0.self_attn.q_proj.weight',
        ['num_attention_heads × head_dim', (c) => c.heads * c.headDim],
        undefined,
      ],
      [
        'model.layers.0.self_attn.k_proj.weight',
        ['num_key_value_heads × head_dim', (c) => c.kvHeads * c.headDim],
        undefined,
      ],
      ['model.layers.0.mlp.gate_proj.weight', ['intermediate_size', (c) => c.intermediate], undefined],
    ],
  },
  'gpt-neox': {
    layer: /^gpt_neox\.layers\.(\d+)\./,
    layers: 'num_hidden_layers',
    matrices: [
      ['gpt_neox.embed_in.weight', VOCAB, ['hidden_size', (c) => c.hidden]],
      ['gpt_neox.layers.0.mlp.dense_h_to_4h.weight', ['intermediate_size', (c) => c.intermediate], undefined],
    ],
  },
  gpt2: {
    layer: /^(?:transformer\.)?h\.(\d+)\./,
    layers: 'n_layer',
    matrices: [
      ['wte.weight', VOCAB, ['n_embd', (c) => c.hidden]],
      ['wpe.weight', ['n_positions', (c) => c.maxPositions], undefined],
      ['h.0.mlp.c_fc.weight', undefined, ['n_inner', (c) => c.intermediate]],
    ],
  },
};

/**
 * Checks the config's dimensions against the checkpoint's shapes before anything is allocated: a wrong
 * `n_embd` is a ConfigError naming the field, not gigabytes of stand-ins for mis-shaped tensors. Matrices
 * that are missing or not 2-D are left to the weight map, which lists them, and so are sources that cannot
 * tell a shape without reading the tensor (random weights drawn from the config itself).
 */
function checkConfigFits(config: ModelConfig, weights: WeightSource, source = 'config.json'): void {
  const { layer, layers, matrices } = PINS[config.arch];
  const names = weights.names();
  const file = weights.label ?? 'the checkpoint';
  for (const [tensor, ...axes] of matrices) {
    const name = [tensor, `transformer.${tensor}`].find((n) => names.includes(n));
    const shape = name === undefined ? undefined : weights.shape?.(name);
    if (shape?.length !== 2) continue;
    axes.forEach((field, axis) => {
      if (field && field[1](config) !== shape[axis])
        throw new ConfigError(
          source,
          field[0],
          `${shape[axis]} (${name} is [${shape.join(', ')}] in ${file})`,
          field[1](config),
        );
    });
  }
  const count = names.reduce((n, name) => Math.max(n, Number(layer.exec(name)?.[1] ?? -1) + 1), 0);
  if (count !== config.layers)
    throw new ConfigError(source, layers, `${count} (the number of layers in ${file})`, config.layers);
}

/** A model from its config and checkpoint tensors: the architecture's weight map, then its forward pass. */
export function modelFromWeights(
  config: ModelConfig,
  weights: WeightSource,
  options: { id?: string; tokenizer?: Tokenizer; configSource?: string } = {},
): Model {
  checkConfigFits(config, weights, options.configSource);
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
 * A llama2.c model (checkpoint and tokenizer.bin) from their bytes, e.g. fetched in a browser: the same model
 * loadModel reads from files. The bytes are used in place, not copied.
 */
export function llama2cModel(
  weights: Uint8Array,
  tokenizer: Uint8Array,
  options: { id: string; weightsLabel?: string; tokenizerLabel?: string },
): Model {
  const checkpoint = openLlama2c(memoryBytes(weights, options.weightsLabel ?? options.id));
  const tok = Llama2cTokenizer.parse(tokenizer, options.tokenizerLabel ?? 'tokenizer.bin');
  return modelFromWeights(checkpoint.config, checkpoint.weights, { id: options.id, tokenizer: tok });
}
