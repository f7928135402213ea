/**
 * A population member's prefix cache: what its children reuse when they are evaluated incrementally
 * (incremental.ts). The gradient program writes it for a batch of members (`cacheOutputs`), the evaluator
 * slices each member's out (`sliceCache`) and keeps it by the member's ids (`PrefixCaches`), and the
 * incremental program reads the caches of a batch's parents stacked (`stackedInputs`, `stackCaches`). This
 * file alone names the programs' cache outputs and inputs.
 */
import { input, reshape, transpose, type Dim, type Node, type Shape } from '../../graph/index.ts';
import type { ModelConfig } from '../../io/hf-config.ts';
import type { HostTensor } from '../../runtime/index.ts';
import { promptKey } from '../epo.ts';

export interface PrefixCache {
  /** [T, H·Dh]: block 0's queries (after rotary) of each position, heads side by side (FirstBlockReuse). */
  queries: Float32Array;
  /** [T, D]: block 0's token-local residuals, for a parallel-residual model (FirstBlockReuse). */
  locals?: Float32Array;
  /** Per block, [T, KV·Dh]: keys (after rotary) of each position, heads side by side. */
  keys: Float32Array[];
  /** Per block, [T, KV·Dh]. */
  values: Float32Array[];
  /** Per hook the target reads: its values over the sequence ([T,F], or [H,T,T] for a pattern). */
  hooks: Record<string, Float32Array>;
  /** [T−1]: log p(x_t | x_<t) for t = 1..T−1. */
  logprobs: Float32Array;
  /** [T−1, D]: the final norm's rows h_t for t = 0..T−2. */
  normalized: Float32Array;
  /** [T−1]: log Σ_v exp(h_t·W_U[v]) for t = 0..T−2, so that log p(v | x_≤t) = h_t·W_U[v] − logSumExp_t. */
  logSumExp: Float32Array;
}

/** The gradient program's nodes that hold its members' caches, batched over members [B,…]. */
export interface CacheSources {
  /** Block 0's queries [B,H,T,Dh]. */
  queries: Node;
  /** Block 0's token-local residuals [B,T,D], parallel-residual models only. */
  locals?: Node;
  /** Per block, [B,KV,T,Dh]. */
  keys: readonly Node[];
  values: readonly Node[];
  hooks: Readonly<Record<string, Node>>;
  /** [B,T−1], [B,T−1,D], [B,T−1]: as PrefixCache. */
  logprobs: Node;
  normalized: Node;
  logSumExp: Node;
}

const name = {
  queries: 'cache.queries',
  locals: 'cache.locals',
  key: (l: number) => `cache.keys.${l}`,
  value: (l: number) => `cache.values.${l}`,
  hook: (hook: string) => `cache.hook.${hook}`,
  logprobs: 'cache.logprobs',
  normalized: 'cache.normalized',
  logSumExp: 'cache.logSumExp',
};

/** [B,n,T,Dh] → [B,T,n·Dh]: queries, keys or values of each position with their heads side by side. */
function positionRows(x: Node): Node {
  const [B, n, T, Dh] = x.shape as [Dim, number, Dim, number];
  return reshape(transpose(x, [0, 2, 1, 3]), [B, T, n * Dh]); // [B,T,n·Dh]
}

/** The gradient program's cache outputs, by name. */
export function cacheOutputs(sources: CacheSources): Record<string, Node> {
  const outputs: Record<string, Node> = {
    [name.queries]: positionRows(sources.queries),
    [name.logprobs]: sources.logprobs,
    [name.normalized]: sources.normalized,
    [name.logSumExp]: sources.logSumExp,
  };
  if (sources.locals) outputs[name.locals] = sources.locals;
  sources.keys.forEach((k, l) => (outputs[name.key(l)] = positionRows(k)));
  sources.values.forEach((v, l) => (outputs[name.value(l)] = positionRows(v)));
  for (const [hook, node] of Object.entries(sources.hooks)) outputs[name.hook(hook)] = node;
  return outputs;
}

/** Member b's cache from a run's outputs, copied so that the run's buffers can go. */
export function sliceCache(
  out: Readonly<Record<string, HostTensor>>,
  b: number,
  layers: number,
  hooks: readonly string[],
): PrefixCache {
  const part = (output: string): Float32Array => {
    const t = out[output] as HostTensor;
    const per = t.data.length / (t.shape[0] as number);
    return (t.data as Float32Array).slice(b * per, (b + 1) * per);
  };
  const blocks = Array.from({ length: layers }, (_, l) => l);
  return {
    queries: part(name.queries),
    ...(out[name.locals] && { locals: part(name.locals) }),
    keys: blocks.map((l) => part(name.key(l))),
    values: blocks.map((l) => part(name.value(l))),
    hooks: Object.fromEntries(hooks.map((h) => [h, part(name.hook(h))])),
    logprobs: part(name.logprobs),
    normalized: part(name.normalized),
    logSumExp: part(name.logSumExp),
  };
}

/** The incremental program's inputs for its parents' caches, stacked: C = parents·T rows (M parents). */
export interface StackedCache {
  /** Per block, [C, KV·Dh]. */
  keys: Node[];
  values: Node[];
  /** Block 0's queries [C, H·Dh]. */
  queries: Node;
  /** Block 0's token-local residuals [C, D]. */
  locals: Node;
  /** A hook's cached values: [C, F] by rows, or (an attention pattern) [M, H, T, T] by parent. */
  hook(hook: string, shape: Shape): Node;
}

export function stackedInputs(config: ModelConfig): StackedCache {
  const { layers, kvHeads, heads, headDim, hidden } = config;
  const rows = (input_: string, width: number) => input(input_, 'float32', ['C', width]);
  return {
    keys: Array.from({ length: layers }, (_, l) => rows(name.key(l), kvHeads * headDim)),
    values: Array.from({ length: layers }, (_, l) => rows(name.value(l), kvHeads * headDim)),
    queries: rows(name.queries, heads * headDim),
    locals: rows(name.locals, hidden),
    hook: (hook, shape) => input(name.hook(hook), 'float32', shape),
  };
}

function concatenated(parts: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * The feeds of `stackedInputs` for `parents` of sequences of T positions; `patterns` names the hooks that
 * are attention patterns (stacked by parent, not by row). Locals only where the parents have them.
 */
export function stackCaches(
  parents: readonly PrefixCache[],
  T: number,
  patterns: ReadonlySet<string>,
): Record<string, HostTensor> {
  const C = parents.length * T;
  const byRows = (data: Float32Array): HostTensor => ({
    dtype: 'float32',
    shape: [C, data.length / Math.max(C, 1)],
    data,
  });
  const stacked = (part: (p: PrefixCache) => Float32Array) => byRows(concatenated(parents.map(part)));
  const feeds: Record<string, HostTensor> = { [name.queries]: stacked((p) => p.queries) };
  if (parents.every((p) => p.locals)) feeds[name.locals] = stacked((p) => p.locals as Float32Array);
  const layers = parents[0]?.keys.length ?? 0;
  for (let l = 0; l < layers; l++) {
    feeds[name.key(l)] = stacked((p) => p.keys[l] as Float32Array);
    feeds[name.value(l)] = stacked((p) => p.values[l] as Float32Array);
  }
  for (const hook of Object.keys(parents[0]?.hooks ?? {})) {
    const data = concatenated(parents.map((p) => p.hooks[hook] as Float32Array));
    const per = data.length / parents.length;
    feeds[name.hook(hook)] = patterns.has(hook)
      ? { dtype: 'float32', shape: [parents.length, per / (T * T), T, T], data }
      : byRows(data);
  }
  return feeds;
}

/**
 * Caches by the ids of their member, kept while they are in use. Each batch of children evaluated begins a
 * generation (`nextGeneration`); a cache not read or written in this generation or the one before is dropped
 * then. A population's members are the parents of every batch (and new members are written just after
 * one), so what goes is the caches of members that left it; a cache that went and is needed again is
 * computed again (the same values: it depends on the ids alone).
 */
export class PrefixCaches {
  private readonly entries = new Map<string, { cache: PrefixCache; used: number }>();
  private generation = 0;

  get(ids: readonly number[]): PrefixCache | undefined {
    const entry = this.entries.get(promptKey(ids));
    if (entry) entry.used = this.generation;
    return entry?.cache;
  }

  set(ids: readonly number[], cache: PrefixCache): void {
    this.entries.set(promptKey(ids), { cache, used: this.generation });
  }

  nextGeneration(): void {
    this.generation++;
    for (const [key, entry] of this.entries) if (entry.used < this.generation - 1) this.entries.delete(key);
  }

  get size(): number {
    return this.entries.size;
  }
}
