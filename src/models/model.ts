import {
  constant,
  gather,
  GraphError,
  isFloat,
  matmul,
  reshape,
  slice,
  transpose,
  type Dim,
  type Node,
} from '../graph/index.ts';
import type { ModelConfig } from '../io/hf-config.ts';
import type { Tokenizer } from '../tokenizers/tokenizer.ts';
import { HookRecorder, hookNames, type HookSpec } from './hooks.ts';

export interface BuildOptions {
  /** int64 token ids [B,T], or a float one-hot (or any distribution) over the vocabulary [B,T,V]. */
  tokens: Node;
  /** int64 positions [T]; default 0..T−1, which needs a static T. Pass an input for a symbolic T. */
  positions?: Node;
  /** Build blocks 0..stopAfterLayer only, without the final norm and logits, when only early hooks are needed. */
  stopAfterLayer?: number;
  /** TransformerLens hook names to return (see hooks.ts). */
  hooks?: readonly string[];
}

export interface BuildResult {
  /** [B,T,V]; absent when the build stopped early. */
  logits?: Node;
  hooks: Record<string, Node>;
}

/** A loaded model: its config, weights (as graph constants) and, where it has one, its tokenizer. */
export interface Model {
  readonly id: string;
  readonly config: ModelConfig;
  readonly tokenizer?: Tokenizer;
  /** Its hook layout (see hooks.ts). */
  readonly hookSpec: HookSpec;
  /** Every hook name the model has, in forward order. */
  readonly hookNames: readonly string[];
  /** The forward pass as graph nodes, from token ids or a one-hot matrix. */
  build(options: BuildOptions): BuildResult;
}

/** What an architecture file provides: its hook layout and its forward pass over loaded parameters. */
export interface Architecture {
  hookSpec: HookSpec;
  forward(ctx: ForwardContext): BuildResult;
}

/** The pieces every forward pass starts from, prepared by `makeModel`. */
export interface ForwardContext {
  tokens: Node;
  positions: Node;
  /** Last block to build (layers − 1 for the full model). */
  lastLayer: number;
  /** Whether to form the final norm and the logits. */
  full: boolean;
  hooks: HookRecorder;
}

export function makeModel(
  id: string,
  config: ModelConfig,
  arch: Architecture,
  tokenizer: Tokenizer | undefined,
): Model {
  const names = hookNames(arch.hookSpec);
  return {
    id,
    config,
    ...(tokenizer && { tokenizer }),
    hookSpec: arch.hookSpec,
    hookNames: names,
    build(options: BuildOptions): BuildResult {
      const { tokens, stopAfterLayer } = options;
      checkTokens(tokens, config.vocabSize);
      if (stopAfterLayer !== undefined && !(Number.isInteger(stopAfterLayer) && stopAfterLayer >= -1))
        throw new GraphError(`stopAfterLayer must be an integer ≥ −1, got ${stopAfterLayer}`);
      const lastLayer = Math.min(stopAfterLayer ?? config.layers - 1, config.layers - 1);
      const hooks = new HookRecorder(options.hooks ?? [], arch.hookSpec, stopAfterLayer);
      const positions = options.positions ?? defaultPositions(tokens.shape[1] as Dim);
      const full = stopAfterLayer === undefined;
      const result = arch.forward({ tokens, positions, lastLayer, full, hooks });
      return full ? result : { hooks: result.hooks };
    },
  };
}

function checkTokens(tokens: Node, vocabSize: number): void {
  const ok =
    (tokens.dtype === 'int64' && tokens.rank === 2) ||
    (isFloat(tokens.dtype) && tokens.rank === 3 && tokens.shape[2] === vocabSize);
  if (!ok)
    throw new GraphError(
      `tokens must be int64 ids [B,T] or a float one-hot [B,T,${vocabSize}], got ${tokens.dtype}[${tokens.shape.join(',')}]`,
    );
}

function defaultPositions(T: Dim): Node {
  if (typeof T !== 'number')
    throw new GraphError(
      `a symbolic sequence length "${T}" needs explicit positions (an int64 [${T}] input)`,
    );
  return constant(
    Array.from({ length: T }, (_, t) => t),
    [T],
    'int64',
  );
}

/** Token embeddings W_E[tokens] [B,T,D]: a row gather for ids, onehot·W_E for a one-hot matrix. */
export const embed = (tokens: Node, wE: Node): Node =>
  tokens.dtype === 'int64' ? gather(wE, tokens) : matmul(tokens, wE);

/** [B,T,n·Dh] → [B,n,T,Dh]: the features of each head, heads before positions. */
export function splitHeads(x: Node, heads: number, headDim: number): Node {
  const [B, T] = x.shape as [Dim, Dim];
  const perHead = reshape(x, [B, T, heads, headDim]); // [B,T,n,Dh]
  return transpose(perHead, [0, 2, 1, 3]); // [B,n,T,Dh]
}

/** [B,H,T,Dh] → [B,T,H·Dh]: the heads concatenated again, per position. */
export function mergeHeads(x: Node): Node {
  const [B, H, T, Dh] = x.shape as [Dim, number, Dim, number];
  const perPosition = transpose(x, [0, 2, 1, 3]); // [B,T,H,Dh]
  return reshape(perPosition, [B, T, H * Dh]); // [B,T,H·Dh]
}

/** Columns [from, to) of the last axis of [B,T,F]. */
export const columns = (x: Node, from: number, to: number): Node => slice(x, [2], [from], [to]);
