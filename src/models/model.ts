import {
  add,
  concat,
  constant,
  dimProduct,
  gather,
  gemm,
  GraphError,
  isFloat,
  matmul,
  reshape,
  slice,
  transpose,
  transposeLast2,
  type Dim,
  type Node,
} from '../graph/index.ts';
import type { ModelConfig } from '../io/hf-config.ts';
import { attention } from '../nn/index.ts';
import type { Tokenizer } from '../tokenizers/tokenizer.ts';
import { tokenLocalRows } from './first-block.ts';
import { HookRecorder, hookNames, type HookSpec } from './hooks.ts';

/**
 * The keys and values of a prefix that the new tokens follow (all cached positions precede them). Keys are
 * stored after rotary, as attention reads them.
 */
export interface KeyValueCache {
  /** Per layer, [B,KV,P,Dh]. */
  keys: readonly Node[];
  /** Per layer, [B,KV,P,Dh]. */
  values: readonly Node[];
  /** int64 [P]: the positions of the cached entries. */
  positions: Node;
}

/**
 * Many sequences of one static length T whose new tokens are packed into one row: `tokens` [1,R] holds the
 * new tokens of every sequence one after another and `positions` [R] their positions. Position t of
 * sequence b either is cached — a row of `keys`/`values`, e.g. the prefix of another sequence — or is new.
 * The projections and the MLP then run over the R new tokens only, as one matrix; attention runs per
 * sequence over its T positions.
 */
export interface PackedSequences {
  /** T. */
  length: number;
  /** Per layer, cached keys (after rotary) [C, KV·Dh], one row per cached position. */
  keys: readonly Node[];
  /** Per layer, cached values [C, KV·Dh]. */
  values: readonly Node[];
  /** int64 [B,T]: where position t of sequence b is, as a row of [cached rows; new rows] (C + r for new row r). */
  keySlots: Node;
  /** int64 [B,T]: 1 + the new row of position t of sequence b, or 0 where that position is cached. */
  querySlots: Node;
  /** int64 [R]: b·T + t of each new row. */
  rowSlots: Node;
  /** Block 0 from the cache where it can be (see FirstBlockReuse). */
  firstBlock?: FirstBlockReuse;
}

/**
 * At block 0 a position's norm, queries, keys, values and — in a parallel-residual block — MLP branch depend
 * on its own token alone, not on the positions before it: a new row whose token and position are those of a
 * cached row (a child's positions after the one it changed, against its parent's) has them in the cache, and
 * only attention mixes in what changed. Block 0 then computes them for the fresh rows only.
 */
export interface FirstBlockReuse {
  /** int64 [F]: the new rows whose block 0 is computed in full, as rows of the R new rows. */
  fresh: Node;
  /** Cached queries of block 0 (after rotary, as attention reads them) [C, H·Dh]. */
  queries: Node;
  /** int64 [B,T]: where position t of sequence b finds its block-0 key and value, in [cached rows; fresh rows]. */
  keySlots: Node;
  /** int64 [B,T]: 0 for a cached position, else 1 + the row of its query in [cached rows; fresh rows]. */
  querySlots: Node;
  /** Cached token-local residuals of block 0 [C,D] (see BuildResult.locals), for parallel-residual blocks. */
  locals?: Node;
  /** int64 [R]: each new row's token-local residual as a row of [cached rows; fresh rows]. */
  localSlots?: Node;
}

export interface BuildOptions {
  /** int64 token ids [B,T], or a float one-hot (or any distribution) over the vocabulary [B,T,V]. */
  tokens: Node;
  /** int64 positions [T]; default 0..T−1 after the cache, which needs a static T. Pass an input for a symbolic T. */
  positions?: Node;
  /** A cached prefix, per layer: `tokens` and `positions` are then the tokens that follow it. */
  cache?: KeyValueCache;
  /** Packed sequences (see PackedSequences); `tokens` is then [1,R]. Excludes `cache`. */
  packed?: PackedSequences;
  /**
   * [B,T,D] added to the token embeddings W_E[tokens]: the gradient with respect to it is the gradient with
   * respect to the embeddings, which `tokenGradient` turns into one with respect to a one-hot of the tokens.
   */
  embeddingOffset?: Node;
  /** Build blocks 0..stopAfterLayer only, without the final norm and logits, when only early hooks are needed. */
  stopAfterLayer?: number;
  /** TransformerLens hook names to return (see hooks.ts). */
  hooks?: readonly string[];
}

export interface BuildResult {
  /** [B,T,V]; absent when the build stopped early. */
  logits?: Node;
  /** The final norm's output [B,T,D] (`ln_final.hook_normalized`); absent when the build stopped early. */
  normalized?: Node;
  /**
   * The unembedding, for logits at chosen rows only: logits = unembed(normalized); with `from`, `to` the
   * logits of vocabulary entries [from, to) only, [.., to − from] (a view of W_U's rows, no copy).
   */
  unembed?: (hidden: Node, from?: number, to?: number) => Node;
  /** W_U [V,D] (logits = normalized·W_Uᵀ); absent when the build stopped early. */
  unembedding?: Node;
  /**
   * The gradient with respect to a one-hot [B,T,V] of the tokens, from the gradient with respect to their
   * embeddings [B,T,D]: the embedding is onehot·W_E, so ∂/∂onehot = ∂/∂embedding · W_Eᵀ. With an `addend`
   * [B,T,V]: addend + ∂/∂embedding · W_Eᵀ, as one Gemm (no separate sum over a vocabulary-wide buffer).
   */
  tokenGradient: (dEmbedding: Node, addend?: Node) => Node;
  hooks: Record<string, Node>;
  /** Per block built, the queries (after rotary, as attention reads them) of the new positions, [B,H,T,Dh]. */
  queries: Node[];
  /**
   * Per block built of a parallel-residual architecture, its token-local residual x + MLP(x) [B,T,D]: the
   * block's output less its attention output. Empty for sequential blocks, whose MLP reads the attention.
   */
  locals: Node[];
  /** Per block built, the keys (after rotary) of the new positions, [B,KV,T,Dh]. */
  keys: Node[];
  /** Per block built, the values of the new positions, [B,KV,T,Dh]. */
  values: Node[];
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
  forward(ctx: ForwardContext): ArchitectureOutput;
}

export interface ArchitectureOutput {
  hooks: Record<string, Node>;
  /** The final norm's output; absent when the build stopped early. */
  normalized?: Node;
  /** W_U [V,D]: logits = normalized·W_Uᵀ. */
  unembedding?: Node;
}

/** Multi-head attention of block `layer`: the output with heads merged [B,T,H·Dh], and the pattern. */
export type Attend = (layer: number, q: Node, k: Node, v: Node) => { out: Node; pattern: Node };

/** The queries [B,H,N,Dh] (as attention reads them: after rotary, scaled) and keys, values [B,KV,N,Dh] of N rows. */
export interface QueryKeyValue {
  q: Node;
  k: Node;
  v: Node;
}

/**
 * A block's projection of rows of the residual stream [B,N,D] at positions [N] to their queries, keys and
 * values: token-local, each row's from its own residual and position alone.
 */
export type Project = (x: Node, positions: Node) => QueryKeyValue;

/** The pieces every forward pass starts from, prepared by `makeModel`. */
export interface ForwardContext {
  tokens: Node;
  positions: Node;
  /** Last block to build (layers − 1 for the full model). */
  lastLayer: number;
  /** Whether to form the final norm and the logits. */
  full: boolean;
  hooks: HookRecorder;
  /** The token embeddings W_E[tokens] [B,T,D] (onehot·W_E for a one-hot), with the build's offset if any. */
  embed: (wE: Node) => Node;
  /**
   * Causal self-attention of block `layer` over the residual stream x [B,T,D]: `project` gives the rows'
   * queries, keys and values; each query sees every key at a position ≤ its own (a cached prefix's too).
   * Returns the output with heads merged [B,T,H·Dh] and the pattern [B,H,T,S]; records the queries, keys
   * and values. `project` may see only some rows of x (first-block.ts).
   */
  attention(layer: number, x: Node, project: Project): { out: Node; pattern: Node };
  /**
   * `f` over every row of x [B,T,D], where f is token-local (each output row from its own input row alone):
   * a parallel-residual block's x + mlp(x), recorded as the block's token-local residual (BuildResult.locals).
   * `f` may see only some rows of x (first-block.ts).
   */
  tokenLocal(layer: number, x: Node, f: (x: Node) => Node): Node;
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
      const { tokens, stopAfterLayer, cache, packed } = options;
      checkTokens(tokens, config.vocabSize);
      if (stopAfterLayer !== undefined && !(Number.isInteger(stopAfterLayer) && stopAfterLayer >= -1))
        throw new GraphError(`stopAfterLayer must be an integer ≥ −1, got ${stopAfterLayer}`);
      const lastLayer = Math.min(stopAfterLayer ?? config.layers - 1, config.layers - 1);
      if (cache && packed) throw new GraphError('a build takes a cache or packed sequences, not both');
      for (const kv of [cache, packed])
        if (kv && (kv.keys.length <= lastLayer || kv.values.length <= lastLayer))
          throw new GraphError(
            `the cache holds keys and values for ${Math.min(kv.keys.length, kv.values.length)} blocks, the build needs ${lastLayer + 1}`,
          );
      const hooks = new HookRecorder(options.hooks ?? [], arch.hookSpec, stopAfterLayer);
      const positions =
        options.positions ?? defaultPositions(tokens.shape[1] as Dim, cache ? cachedLength(cache) : 0);
      const queries: Node[] = [];
      const locals: Node[] = [];
      const keys: Node[] = [];
      const values: Node[] = [];
      const inner: Attend = packed
        ? packedAttend(packed)
        : cache
          ? prefixAttend(cache, positions)
          : (_, q, k, v) => attention(q, k, v, positions, positions);
      const own = tokenLocalRows(positions, packed?.firstBlock);
      const attend = (layer: number, x: Node, project: Project) => {
        const rows = own.rows(layer, x);
        const { q, k, v } = project(rows.x, rows.positions);
        queries[layer] = q;
        keys[layer] = k;
        values[layer] = v;
        const { out, pattern } = inner(layer, q, k, v);
        return { out: out.rank === 4 ? mergeHeads(out) : out, pattern };
      };
      const tokenLocal = (layer: number, x: Node, f: (x: Node) => Node) => {
        const local = f(own.rows(layer, x).x);
        locals[layer] = local;
        return own.spread(layer, local);
      };
      let wE: Node | undefined;
      const embed = (table: Node) => {
        wE = table;
        const embedded = tokens.dtype === 'int64' ? gather(table, tokens) : matmul(tokens, table); // [B,T,D]
        return options.embeddingOffset ? add(embedded, options.embeddingOffset) : embedded;
      };
      const tokenGradient = (dEmbedding: Node, addend?: Node) => {
        if (!wE) throw new GraphError('the build embedded no tokens');
        if (!addend) return matmul(dEmbedding, transposeLast2(wE)); // [B,T,V]
        const [V, D] = wE.shape as [Dim, Dim];
        const rows = gemm(reshape(dEmbedding, [-1, D]), wE, reshape(addend, [-1, V])); // [B·T,V]
        return reshape(rows, addend.shape);
      };
      const full = stopAfterLayer === undefined;
      const context = { tokens, positions, lastLayer, full, hooks, embed, attention: attend, tokenLocal };
      const result = arch.forward(context);
      const common = { hooks: result.hooks, queries, locals, keys, values, tokenGradient };
      if (!full || !result.normalized || !result.unembedding) return common;
      const unembed = unembedWith(result.unembedding);
      return {
        logits: unembed(result.normalized),
        normalized: result.normalized,
        unembed,
        unembedding: result.unembedding,
        ...common,
      };
    },
  };
}

/** h·W_Uᵀ over all of W_U [V,D] or rows [from, to) of it, taken as a view of the constant's data. */
function unembedWith(wU: Node): (hidden: Node, from?: number, to?: number) => Node {
  const [V, D] = wU.shape as [number, number];
  return (hidden, from = 0, to = V) => {
    if (!(Number.isInteger(from) && Number.isInteger(to) && 0 <= from && from < to && to <= V))
      throw new GraphError(`vocabulary rows [${from}, ${to}) are out of range for ${V} entries`);
    const whole = from === 0 && to === V;
    const rows = whole
      ? wU
      : wU.op === 'Constant'
        ? constant((wU.attrs.value as Float32Array).subarray(from * D, to * D), [to - from, D])
        : slice(wU, [0], [from], [to]);
    return matmul(hidden, transposeLast2(rows)); // [.., to − from]
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

function cachedLength(cache: KeyValueCache): number {
  const P = cache.positions.shape[0] as Dim;
  if (typeof P !== 'number')
    throw new GraphError(`a cache of symbolic length "${P}" needs explicit positions for the new tokens`);
  return P;
}

function defaultPositions(T: Dim, from: number): Node {
  if (typeof T !== 'number')
    throw new GraphError(
      `a symbolic sequence length "${T}" needs explicit positions (an int64 [${T}] input)`,
    );
  return arange(from, from + T);
}

const arange = (from: number, to: number): Node =>
  constant(
    Array.from({ length: to - from }, (_, i) => from + i),
    [to - from],
    'int64',
  );

/** Attention over the cached prefix followed by the new keys: query t sees every key at a position ≤ its own. */
function prefixAttend(cache: KeyValueCache, positions: Node): Attend {
  const keyPositions = concat([cache.positions, positions], 0); // [P+T]
  return (layer, q, k, v) => {
    const keys = concat([cache.keys[layer] as Node, k], 2); // [B,KV,P+T,Dh]
    const values = concat([cache.values[layer] as Node, v], 2); // [B,KV,P+T,Dh]
    return attention(q, keys, values, positions, keyPositions);
  };
}

/**
 * Attention of packed sequences, heads first so that no [B,T,…] tensor is transposed: per head, the rows of
 * [cached; new] keys and values [n,C+R,Dh] are gathered into each sequence's T positions [n,B,T,Dh] (queries
 * from the new rows, zero where cached), attention runs over [H,B,T,T], and the outputs of the new rows are
 * gathered back into one row [1,R,H·Dh]. The pattern is [B,H,T,T], as a hook reads it.
 */
function packedAttend(packed: PackedSequences): Attend {
  const T = packed.length;
  const t = arange(0, T); // every sequence holds positions 0..T−1
  const [R] = packed.rowSlots.shape as [Dim];
  return (layer, q, k, v) => {
    const [, H, N, Dh] = q.shape as [Dim, number, Dim, number]; // N: the rows computed (R, or F at a reused block 0)
    const KV = k.shape[1] as number;
    const [B] = packed.keySlots.shape as [Dim];
    const reuse = layer === 0 ? packed.firstBlock : undefined;
    const newRows = (x: Node, n: number) => reshape(x, [n, N, Dh]); // [1,n,N,Dh] → [n,N,Dh]
    const heads = (cached: Node, n: number) => {
      const C = cached.shape[0] as Dim;
      return transpose(reshape(cached, [C, n, Dh]), [1, 0, 2]); // [n,C,Dh]
    };
    const keySlots = reuse?.keySlots ?? packed.keySlots;
    const perSequence = (cached: Node, x: Node) =>
      gather(concat([heads(cached, KV), newRows(x, KV)], 1), keySlots, 1); // [KV,B,T,Dh]
    const keys = perSequence(packed.keys[layer] as Node, k);
    const values = perSequence(packed.values[layer] as Node, v);
    const zero = constant(new Float32Array(H * Dh), [H, 1, Dh]);
    const sources = reuse ? [zero, heads(reuse.queries, H), newRows(q, H)] : [zero, newRows(q, H)];
    const queries = gather(concat(sources, 1), reuse?.querySlots ?? packed.querySlots, 1); // [H,B,T,Dh]
    const attended = attention(queries, keys, values, t, t, { headsFirst: true });
    const out = reshape(attended.out, [H, dimProduct([B, T]), Dh]); // [H,B·T,Dh]
    const rows = transpose(gather(out, packed.rowSlots, 1), [1, 0, 2]); // [R,H,Dh]
    const pattern = transpose(attended.pattern, [1, 0, 2, 3]); // [H,B,T,T] → [B,H,T,T]
    return { out: reshape(rows, [1, R, H * Dh]), pattern }; // [1,R,H·Dh]
  };
}

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
