/**
 * Feature sets: many features of one hook (or of one SAE) read together — `HOOK[*]`, `HOOK[a:b]`,
 * `HOOK[i,j,k]`, `sae:DIR[…]`, each with an optional `@P` — what a multi-feature scan reads in one pass.
 */
import { add, constant, gather, input, matmul, slice, sub, type Node } from '../graph/index.ts';
import { readSaeFeatures, type SaeFeatures } from '../io/sae.ts';
import { lastLayerNeeded } from '../models/hooks.ts';
import {
  atPosition,
  hookOf,
  hookValue,
  position,
  TargetSpecError,
  type TargetContext,
  type TargetInputs,
} from './target.ts';

/** Features of one hook (or SAE), in order. */
export interface FeatureSet {
  /** The spec as written. */
  readonly spec: string;
  /** The one hook it reads. */
  readonly hooks: readonly string[];
  /**
   * The single-feature target spec of each feature, in order, e.g. 'blocks.2.mlp.hook_post[17]' or
   * 'sae:DIR[5]' (with @P when the set had one): what a dream of that feature takes; parseTarget accepts each.
   */
  readonly targets: readonly string[];
  /** The feature indices in the hook (or SAE), in order. */
  readonly indices: readonly number[];
  /** The `@P` as written, where the spec has one. */
  readonly position: number | undefined;
  /** Window mode: the features at the set's position (default last), [B, F]. */
  values(inputs: TargetInputs): Node;
  /** Document mode: the features at every position, [B, T, F]. */
  valuesAtAllPositions(inputs: TargetInputs): Node;
}

export const FEATURE_SET_SYNTAX = [
  'HOOK[*]            every feature of a hook, e.g. blocks.2.mlp.hook_post[*]',
  'HOOK[a:b]          features a..b−1 (half-open, as in Python; [:b] and [a:] too)',
  'HOOK[i,j,k]        the features listed',
  'sae:DIR[*]         … the same for the features of a SAELens SAE: sae:DIR[a:b], sae:DIR[i,j,k]',
  '…@P                at position P of a window (negative counts from the end; default the last)',
].join('\n  ');

const HOOK_SET = /^([\w.]+)\[([^\]]*)\](?:@(-?\d+))?$/;
const SAE_SET = /^sae:(.+)\[([^\]]*)\](?:@(-?\d+))?$/;

/**
 * Whether a spec names a set of features: `[*]`, a range `[a:b]` or a list `[i,j,…]` of a hook or an SAE.
 * A single `HOOK[N]` is not a set (parseFeatureSet still takes it, as a set of one).
 */
export function isFeatureSetSpec(spec: string): boolean {
  const text = spec.trim();
  const m = (text.startsWith('sae:') ? SAE_SET : HOOK_SET).exec(text);
  const inner = m?.[2];
  return inner !== undefined && !inner.includes('=') && /[*:,]/.test(inner);
}

/** The features a spec selects, before the hook's size is known. */
type Selection = { kind: 'range'; start: number; end?: number } | { kind: 'list'; indices: number[] };

function parseSelection(inner: string, spec: string): Selection {
  const text = inner.trim();
  if (text === '*') return { kind: 'range', start: 0 };
  const range = /^(\d*)\s*:\s*(\d*)$/.exec(text);
  if (range)
    return {
      kind: 'range',
      start: Number(range[1] || 0),
      ...(range[2] !== '' && { end: Number(range[2]) }),
    };
  if (/^\d+(\s*,\s*\d+)*$/.test(text)) return { kind: 'list', indices: text.split(',').map(Number) };
  throw new TargetSpecError(
    `${spec}: cannot parse the features [${inner}]; expected [*], a range [a:b] (half-open; a or b may be ` +
      `left out) or a list [i,j,k] of indices`,
  );
}

/** The indices a selection takes of `size` features (`what` names the hook or SAE in errors). */
function resolveSelection(selection: Selection, size: number, spec: string, what: string): number[] {
  const outOfRange = (index: number) =>
    new TargetSpecError(`${spec}: feature ${index} is out of range: ${what} has features 0..${size - 1}`);
  if (selection.kind === 'range') {
    const { start } = selection;
    const end = selection.end ?? size;
    if (start >= size) throw outOfRange(start);
    if (end > size)
      throw new TargetSpecError(
        `${spec}: the range ${start}:${end} is out of range: ${what} has features 0..${size - 1} (a range ends at ${size} at most)`,
      );
    if (end <= start)
      throw new TargetSpecError(`${spec}: the range ${start}:${end} is empty; expected start < end`);
    return Array.from({ length: end - start }, (_, i) => start + i);
  }
  const seen = new Set<number>();
  for (const index of selection.indices) {
    if (index >= size) throw outOfRange(index);
    if (seen.has(index))
      throw new TargetSpecError(`${spec}: feature ${index} is listed twice; expected distinct indices`);
    seen.add(index);
  }
  return selection.indices;
}

/**
 * Picks `indices` along `axis`: a slice where they run contiguously upwards (the whole value where they are
 * all of it), a gather otherwise.
 */
function pick(x: Node, indices: readonly number[], axis: number): Node {
  const first = indices[0] as number;
  if (indices.every((index, i) => index === first + i)) {
    const end = first + indices.length;
    return first === 0 && end === x.shape[axis] ? x : slice(x, [axis], [first], [end]);
  }
  return gather(x, constant(indices, [indices.length], 'int64'), axis);
}

/** The width of a [B,T,F] hook, from a symbolic build of the blocks up to it. */
function hookWidth(name: string, context: TargetContext, spec: string): number {
  const { model } = context;
  const tokens = input('ids', 'int64', [1, context.seqLen]);
  const stopAfterLayer = lastLayerNeeded([name], model.hookSpec);
  const { hooks } = model.build({
    tokens,
    hooks: [name],
    ...(stopAfterLayer !== undefined && { stopAfterLayer }),
  });
  const x = hooks[name] as Node;
  if (x.rank !== 3)
    throw new TargetSpecError(
      `${spec}: a feature set reads a [B,T,F] hook; ${name} is [${x.shape.join(',')}]`,
    );
  return x.shape[2] as number;
}

/**
 * Parses a feature set (see {@link FEATURE_SET_SYNTAX}) against a model: the hook and its size checked, an
 * SAE's encoder columns for the selected features read once. A single `HOOK[N]` or `sae:DIR[N]` is a set of
 * one. Errors are TargetSpecErrors that say what was expected.
 */
export function parseFeatureSet(spec: string, context: TargetContext): FeatureSet {
  const text = spec.trim();
  const sae = text.startsWith('sae:') ? SAE_SET.exec(text) : null;
  if (sae) return saeSet(text, sae, context);
  const hook = text.startsWith('sae:') ? null : HOOK_SET.exec(text);
  if (hook && !(hook[2] as string).includes('=')) return hookSet(text, hook, context);
  throw new TargetSpecError(`cannot parse feature set "${text}"; expected one of:\n  ${FEATURE_SET_SYNTAX}`);
}

function hookSet(spec: string, [, hook, inner, pos]: RegExpExecArray, context: TargetContext): FeatureSet {
  const { name, point } = hookOf(hook as string, context, spec);
  if (point === 'attn.hook_pattern')
    throw new TargetSpecError(
      `${spec}: attention patterns are not feature sets; expected a [B,T,F] hook (address one entry as ${name}[h=H,k=K])`,
    );
  const selection = parseSelection(inner as string, spec);
  const indices = resolveSelection(selection, hookWidth(name, context, spec), spec, name);
  const at = position(pos === undefined ? -1 : Number(pos), context.seqLen, spec);
  const suffix = pos === undefined ? '' : `@${pos}`;
  return {
    spec,
    hooks: [name],
    targets: indices.map((i) => `${name}[${i}]${suffix}`),
    indices,
    position: pos === undefined ? undefined : Number(pos),
    values: (inputs) => pick(atPosition(hookValue(inputs, name), at), indices, 1), // [B,F]
    valuesAtAllPositions: (inputs) => pick(hookValue(inputs, name), indices, 2), // [B,T,F]
  };
}

/** The pre-activations (x − b_dec)·W_enc[:, indices] + b_enc[indices] of a SAELens SAE, as saeTarget's. */
function saeSet(spec: string, [, dir, inner, pos]: RegExpExecArray, context: TargetContext): FeatureSet {
  const selection = parseSelection(inner as string, spec);
  let sae: SaeFeatures;
  try {
    sae = readSaeFeatures(dir as string, (dSae) =>
      resolveSelection(selection, dSae, spec, `the SAE in ${dir}`),
    );
  } catch (error) {
    if (error instanceof TargetSpecError) throw error;
    throw new TargetSpecError(`${spec}: ${(error as Error).message}`);
  }
  const { name } = hookOf(sae.hook, context, spec);
  const width = hookWidth(name, context, spec);
  if (width !== sae.dIn)
    throw new TargetSpecError(`${spec}: the SAE reads ${sae.dIn} features, ${name} has ${width}`);
  const at = position(pos === undefined ? -1 : Number(pos), context.seqLen, spec);
  const suffix = pos === undefined ? '' : `@${pos}`;
  const { indices, encoder, bias, inputShift } = sae;
  const n = indices.length;
  const encode = (x: Node): Node => {
    const shifted = inputShift ? sub(x, constant(inputShift, [width], x.dtype)) : x;
    return add(matmul(shifted, constant(encoder, [width, n], x.dtype)), constant(bias, [n], x.dtype)); // [..,n]
  };
  return {
    spec,
    hooks: [name],
    targets: indices.map((i) => `sae:${dir}[${i}]${suffix}`),
    indices,
    position: pos === undefined ? undefined : Number(pos),
    values: (inputs) => encode(atPosition(hookValue(inputs, name), at)), // [B,F]
    valuesAtAllPositions: (inputs) => encode(hookValue(inputs, name)), // [B,T,F]
  };
}
