import { type ByteSource, fileBytes } from './bytes.ts';
import { CorruptFileError } from './errors.ts';
import type { LlamaConfig } from './hf-config.ts';
import { type HostTensor, type WeightSource, f32FromBytes, finite, numel } from './tensors.ts';

/** The 7 int32 of a legacy (version 0) llama2.c checkpoint, as read by run.c. */
export interface Llama2cHeader {
  dim: number;
  hiddenDim: number;
  nLayers: number;
  nHeads: number;
  nKvHeads: number;
  /** Negative in the file when the classifier is not shared; stored here as its absolute value. */
  vocabSize: number;
  seqLen: number;
  sharedClassifier: boolean;
}

export interface Llama2cCheckpoint {
  header: Llama2cHeader;
  config: LlamaConfig;
  /** Tensors under Hugging Face Llama names, q/k rows left in llama2.c's interleaved-RoPE order. */
  weights: WeightSource;
}

const HEADER_BYTES = 28;
/** The 'ak42' magic of llama2.c export.py versions 1 and 2, which run.c does not read. */
const EXPORT_MAGIC = 0x616b3432;

/** llama2.c tokenizer files (`tokenizer.bin`, `tok512.bin`, ...), as opposed to checkpoints. */
export function isLlama2cTokenizerFile(name: string): boolean {
  return name.startsWith('tok') && name.endsWith('.bin');
}

export function readLlama2c(path: string): Llama2cCheckpoint {
  return openLlama2c(fileBytes(path));
}

export function parseLlama2cHeader(source: ByteSource): Llama2cHeader {
  const corrupt = (problem: string) => new CorruptFileError(source.label, problem);
  if (source.size < HEADER_BYTES) {
    throw corrupt(`file is ${source.size} bytes, shorter than the ${HEADER_BYTES}-byte llama2.c header`);
  }
  const b = source.read(0, HEADER_BYTES);
  const view = new DataView(b.buffer, b.byteOffset, HEADER_BYTES);
  const [dim, hiddenDim, nLayers, nHeads, nKvHeads, vocab, seqLen] = Array.from({ length: 7 }, (_, i) =>
    view.getInt32(4 * i, true),
  ) as [number, number, number, number, number, number, number];
  if (dim === EXPORT_MAGIC) {
    throw corrupt(
      `llama2.c export version ${view.getInt32(4, true)} is not supported; expected the legacy format`,
    );
  }
  const fields = { dim, hiddenDim, nLayers, nHeads, nKvHeads, seqLen, vocabSize: Math.abs(vocab) };
  for (const [k, v] of Object.entries(fields)) {
    if (!(v > 0)) throw corrupt(`header field ${k} is ${v}; expected a positive integer`);
  }
  if (dim % nHeads !== 0) throw corrupt(`dim ${dim} is not a multiple of n_heads ${nHeads}`);
  if (nHeads % nKvHeads !== 0) throw corrupt(`n_heads ${nHeads} is not a multiple of n_kv_heads ${nKvHeads}`);
  if ((dim / nHeads) % 2 !== 0)
    throw corrupt(`head size dim / n_heads = ${dim / nHeads} is odd; RoPE rotates pairs of features`);
  return { ...fields, sharedClassifier: vocab > 0 };
}

/** Tensor layout of run.c `memory_map_weights`, as [name, shape] in file order ('' = skipped). */
function layout(h: Llama2cHeader): [string, number[]][] {
  const { dim, hiddenDim: hid, nLayers: L, vocabSize: vocab } = h;
  const headSize = dim / h.nHeads;
  const kvDim = h.nKvHeads * headSize;
  const perLayer = (name: string, shape: number[]): [string, number[]][] =>
    Array.from({ length: L }, (_, i) => [`model.layers.${i}.${name}.weight`, shape]);
  return [
    ['model.embed_tokens.weight', [vocab, dim]],
    ...perLayer('input_layernorm', [dim]),
    ...perLayer('self_attn.q_proj', [dim, dim]),
    ...perLayer('self_attn.k_proj', [kvDim, dim]),
    ...perLayer('self_attn.v_proj', [kvDim, dim]),
    ...perLayer('self_attn.o_proj', [dim, dim]),
    ...perLayer('post_attention_layernorm', [dim]),
    ...perLayer('mlp.gate_proj', [hid, dim]), // w1
    ...perLayer('mlp.down_proj', [dim, hid]), // w2
    ...perLayer('mlp.up_proj', [hid, dim]), // w3
    ['model.norm.weight', [dim]],
    ['', [Math.floor((h.seqLen * headSize) / 2)]], // freq_cis_real
    ['', [Math.floor((h.seqLen * headSize) / 2)]], // freq_cis_imag
    ...(h.sharedClassifier ? [] : [['lm_head.weight', [vocab, dim]] as [string, number[]]]),
  ];
}

const layoutBytes = (h: Llama2cHeader) =>
  layout(h).reduce((bytes, [, shape]) => bytes + 4 * numel(shape), HEADER_BYTES);

/**
 * The file size the header implies, from the layouts of 0 and 1 layers: a corrupt header may claim 2³¹
 * layers, too many to list.
 */
function impliedBytes(h: Llama2cHeader): number {
  const none = layoutBytes({ ...h, nLayers: 0 });
  return none + h.nLayers * (layoutBytes({ ...h, nLayers: 1 }) - none);
}

export function openLlama2c(source: ByteSource): Llama2cCheckpoint {
  const header = parseLlama2cHeader(source);
  const implied = impliedBytes(header);
  if (implied !== source.size) {
    throw new CorruptFileError(
      source.label,
      `the header (dim ${header.dim}, hidden_dim ${header.hiddenDim}, n_layers ${header.nLayers}, ` +
        `n_heads ${header.nHeads}, n_kv_heads ${header.nKvHeads}, vocab_size ${header.vocabSize}, ` +
        `seq_len ${header.seqLen}, ${header.sharedClassifier ? 'shared' : 'unshared'} classifier) ` +
        `implies ${implied} bytes, but the file has ${source.size}`,
    );
  }
  const offsets = new Map<string, { offset: number; shape: number[] }>();
  let offset = HEADER_BYTES;
  for (const [name, shape] of layout(header)) {
    if (name) offsets.set(name, { offset, shape });
    offset += 4 * numel(shape);
  }
  const weights: WeightSource = {
    label: source.label,
    names: () => [...offsets.keys()],
    shape: (name) => offsets.get(name)?.shape.slice(),
    get(name): HostTensor | undefined {
      const at = offsets.get(name);
      if (!at) return undefined;
      const data = f32FromBytes(source.read(at.offset, 4 * numel(at.shape)));
      return finite({ shape: [...at.shape], data }, name, source.label);
    },
  };
  return { header, config: llama2cConfig(header), weights };
}

export function llama2cConfig(h: Llama2cHeader): LlamaConfig {
  return {
    arch: 'llama',
    vocabSize: h.vocabSize,
    hidden: h.dim,
    layers: h.nLayers,
    heads: h.nHeads,
    kvHeads: h.nKvHeads,
    headDim: h.dim / h.nHeads,
    intermediate: h.hiddenDim,
    rmsNormEps: 1e-5,
    ropeTheta: 10000,
    maxPositions: h.seqLen,
    tiedEmbeddings: h.sharedClassifier,
    rope: 'interleaved',
    hiddenAct: 'silu',
    attentionBias: false,
    mlpBias: false,
    bosTokenId: 1,
    eosTokenId: 2,
  };
}
