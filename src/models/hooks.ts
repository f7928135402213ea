import type { Node } from '../graph/index.ts';

/**
 * Hook points under their TransformerLens names (transformer_lens/HookedTransformer.py and
 * components/*.py), the names the CLI, the store and the UI share. Shapes for a batch B of T tokens:
 *
 *   hook_embed                  [B,T,D]  token embeddings W_E[tokens]
 *   hook_pos_embed              [B,T,D]  learned position embeddings (GPT-2 only)
 *   blocks.L.hook_resid_pre     [B,T,D]  the residual stream entering block L
 *   blocks.L.attn.hook_pattern  [B,H,T,S] attention probabilities softmax(q·kᵀ/√d) after the causal mask
 *   blocks.L.hook_attn_out      [B,T,D]  the attention output after its output projection (and bias)
 *   blocks.L.mlp.hook_pre       [B,T,I]  the MLP pre-activation (for gated MLPs the gate, x·W_gate)
 *   blocks.L.mlp.hook_pre_linear [B,T,I] the linear branch of a gated MLP, x·W_up (Llama only)
 *   blocks.L.mlp.hook_post      [B,T,I]  the input of the MLP output projection: act(pre), or act(gate)·up
 *   blocks.L.hook_mlp_out       [B,T,D]  the MLP output after its output projection (and bias)
 *   blocks.L.hook_resid_post    [B,T,D]  the residual stream leaving block L
 *   ln_final.hook_normalized    [B,T,D]  the final norm's output (weight and bias applied), the unembedding's input
 */
export type HookPoint =
  | 'hook_embed'
  | 'hook_pos_embed'
  | 'hook_resid_pre'
  | 'attn.hook_pattern'
  | 'hook_attn_out'
  | 'mlp.hook_pre'
  | 'mlp.hook_pre_linear'
  | 'mlp.hook_post'
  | 'hook_mlp_out'
  | 'hook_resid_post'
  | 'ln_final.hook_normalized';

/** The hook points inside every block, in the order a forward pass reaches them. */
export const BLOCK_HOOK_POINTS = [
  'hook_resid_pre',
  'attn.hook_pattern',
  'hook_attn_out',
  'mlp.hook_pre',
  'mlp.hook_pre_linear',
  'mlp.hook_post',
  'hook_mlp_out',
  'hook_resid_post',
] as const satisfies readonly HookPoint[];

export interface HookSpec {
  /** Layers 0..layers−1. */
  layers: number;
  /** GPT-2's learned positions add `hook_pos_embed`. */
  positionEmbedding?: boolean;
  /** Gated MLPs (Llama) add `mlp.hook_pre_linear`. */
  gatedMlp?: boolean;
}

/** A parsed hook name: its point, and its block for the per-block points. */
export interface Hook {
  name: string;
  point: HookPoint;
  layer?: number;
}

/** A hook that does not exist in the model, or cannot be had from the graph being built. */
export class HookError extends Error {
  override name = 'HookError';
}

/** A hook name the model does not have; the message names the nearest valid one (edit distance). */
export class UnknownHookError extends HookError {
  override name = 'UnknownHookError';
  constructor(
    readonly hook: string,
    readonly nearest: string,
    detail = '',
  ) {
    super(`unknown hook "${hook}"${detail}; did you mean "${nearest}"?`);
  }
}

/** Every valid hook name of a model, in forward order. */
export function hookNames(spec: HookSpec): string[] {
  const names = ['hook_embed', ...(spec.positionEmbedding ? ['hook_pos_embed'] : [])];
  for (let layer = 0; layer < spec.layers; layer++)
    for (const point of BLOCK_HOOK_POINTS)
      if (point !== 'mlp.hook_pre_linear' || spec.gatedMlp) names.push(`blocks.${layer}.${point}`);
  names.push('ln_final.hook_normalized');
  return names;
}

const BLOCK_HOOK = /^blocks\.(\d+)\.(.+)$/;

/** Parses and validates a hook name against a model; unknown names throw UnknownHookError. */
export function parseHook(name: string, spec: HookSpec): Hook {
  const valid = hookNames(spec);
  if (valid.includes(name)) {
    const m = BLOCK_HOOK.exec(name);
    if (!m) return { name, point: name as HookPoint };
    return { name, point: m[2] as HookPoint, layer: Number(m[1]) };
  }
  const m = BLOCK_HOOK.exec(name);
  const layer = m ? Number(m[1]) : undefined;
  if (m && layer !== undefined && layer >= spec.layers) {
    // A valid point past the last block: suggest that point in the last block.
    const last = `blocks.${spec.layers - 1}.${m[2]}`;
    const detail = ` (layer ${layer} is out of range: the model has layers 0..${spec.layers - 1})`;
    if (valid.includes(last)) throw new UnknownHookError(name, last, detail);
    return nearestOrThrow(name, valid, detail);
  }
  return nearestOrThrow(name, valid, '');
}

function nearestOrThrow(name: string, valid: readonly string[], detail: string): never {
  let best = valid[0] ?? '';
  let bestDistance = Infinity;
  for (const candidate of valid) {
    const d = editDistance(name, candidate);
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  throw new UnknownHookError(name, best, detail);
}

/** Levenshtein distance: the fewest single-character insertions, deletions and substitutions. */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min(substitution, (previous[j] as number) + 1, (current[j - 1] as number) + 1));
    }
    previous = current;
  }
  return previous[b.length] as number;
}

/** The last block a set of hooks needs (−1 for embedding hooks only; undefined when the full model is). */
export function lastLayerNeeded(hooks: readonly string[], spec: HookSpec): number | undefined {
  let last = -1;
  for (const name of hooks) {
    const hook = parseHook(name, spec);
    if (hook.point === 'ln_final.hook_normalized') return undefined;
    if (hook.layer !== undefined) last = Math.max(last, hook.layer);
  }
  return last;
}

/**
 * Collects the requested hooks while a model is built. Names are validated up front; a hook past the
 * block the build stops after is an error, since the graph would never reach it.
 */
export class HookRecorder {
  readonly values: Record<string, Node> = {};
  private readonly wanted: Set<string>;

  constructor(requested: readonly string[], spec: HookSpec, stopAfterLayer?: number) {
    for (const name of requested) {
      const hook = parseHook(name, spec);
      if (stopAfterLayer === undefined) continue;
      if (hook.point === 'ln_final.hook_normalized' || (hook.layer ?? -1) > stopAfterLayer)
        throw new HookError(
          `hook "${name}" comes after layer ${stopAfterLayer}, where this build stops (stopAfterLayer)`,
        );
    }
    this.wanted = new Set(requested);
  }

  /** Records `value` under `name` when it was requested; returns it, so hooks read inline. */
  hook(name: string, value: Node): Node {
    if (this.wanted.has(name)) this.values[name] = value;
    return value;
  }
}
