import {
  add,
  div,
  equal,
  GraphError,
  input,
  matmul,
  mul,
  reduceMax,
  reduceMean,
  reduceSum,
  reshape,
  constant,
  scalar,
  slice,
  sqrt,
  sub,
  where,
  type Dim,
  Node,
} from '../graph/index.ts';
import { readDirectionFile } from '../io/direction.ts';
import { readSaeFeature, type SaeFeature } from '../io/sae.ts';
import type { Model } from '../models/model.ts';
import { parseHook, type Hook } from '../models/hooks.ts';
import { CONTINUATION, continuationTarget } from './continuation.ts';
import { TargetSpecError, type Target, type TargetContext, type TargetInputs } from './target-types.ts';

export { TargetSpecError, type Target, type TargetContext, type TargetInputs } from './target-types.ts';

export const TARGET_SYNTAX = [
  'HOOK[N]            feature N of a hook at the last position, e.g. blocks.2.mlp.hook_post[17]',
  'HOOK[N]@P          … at position P (negative counts from the end)',
  'logit:TOKEN        logit of TOKEN (text, or #id) minus the largest other logit, last position',
  'HOOK@dir:FILE.json the hook standardized over its features, dotted with the direction in FILE',
  'blocks.L.attn.hook_pattern[h=H,k=K]  attention from the last position to key K in head H',
  'sae:DIR[N]         pre-activation of feature N of the SAELens SAE in DIR, last position (@P as above)',
  'continuation:TEXT  mean log-probability of TEXT after the prompt, teacher-forced (TEXT is appended; a',
  '                   JSON string keeps its spaces clear; #ID,#ID… gives token ids). continuation-min:TEXT',
  "                   takes the least likely token, continuation-mellowmax:TEXT nanoGCG's loss between the",
  '                   two, continuation-margin:TEXT the logit margins (greedy decoding says TEXT when all > 0)',
].join('\n  ');

const FEATURE = /^([\w.]+)\[(\d+)\](?:@(-?\d+))?$/;
const PATTERN = /^([\w.]+)\[h=(\d+),\s*k=(-?\d+)\]$/;
const DIRECTION = /^([\w.]+)@dir:(.+)$/;
const SAE = /^sae:(.+)\[(\d+)\](?:@(-?\d+))?$/;

/**
 * Parses a target spec against a model (see {@link TARGET_SYNTAX}); a target given as an object (e.g. a
 * {@link customTarget}) is checked against the model and returned as it is.
 */
export function parseTarget(spec: string | Target, context: TargetContext): Target {
  const target =
    typeof spec === 'string' ? parseSpec(spec.trim(), context) : checkTargetObject(spec, context);
  // Build it once on a symbolic graph (no run) so that out-of-range indices fail here, before any work.
  const tokens = input('ids', 'int64', [1, context.seqLen]);
  const { hooks, logits } = context.model.build({ tokens, hooks: target.hooks });
  let value: Node;
  try {
    value = target.value({ hooks, logits });
  } catch (error) {
    if (typeof spec === 'string' || error instanceof TargetSpecError) throw error;
    throw new TargetSpecError(`${target.spec}: ${(error as Error).message}`);
  }
  if (typeof spec !== 'string' && !(value instanceof Node && value.rank === 1 && value.shape[0] === 1))
    throw new TargetSpecError(
      `${target.spec}: the value must be a graph node of one number per sequence, shape [B]; got ${
        value instanceof Node ? `[${value.shape.join(',')}] for B = 1` : typeof value
      }`,
    );
  return target;
}

/** The spec of a custom target: its name after this prefix (recorded with a run; not parseable again). */
export const CUSTOM_PREFIX = 'custom:';

/** What a target reads, with helpers for the usual slices (each one a slice along the position axis). */
export interface TargetViews extends TargetInputs {
  /** The hook's value [B,T,F] (attention patterns [B,H,T,S]). */
  hook(name: string): Node;
  /** The hook's features at a position [B,F] (negative counts from the end; default the last). */
  at(name: string, position?: number): Node;
  /** Feature `index` of the hook at a position [B] (default the last): what the spec `HOOK[N]@P` reads. */
  feature(name: string, index: number, position?: number): Node;
  /** The logits at the last position [B,V], where the target is built over the whole model. */
  lastLogits(): Node;
}

export interface CustomTargetDefinition {
  /** Its name: the run records `custom:NAME` as its target. */
  name: string;
  /** The hook names it reads (TransformerLens names, e.g. `blocks.2.mlp.hook_post`). */
  hooks: readonly string[];
  /** One number per sequence [B], from the hooks (and the logits) as graph nodes: what EPO drives up. */
  value(views: TargetViews): Node;
  /** Check the hook names against this model at once (they are checked again when a dream parses it). */
  model?: Model;
}

/**
 * A target as a function of hooks (dreamy's `cache_run` objectives): `value` builds one number per
 * sequence from the hooks it names, with the graph DSL (`reverie/graph`), so its gradient comes from the
 * autodiff as a spec's does. `dream({ target })`, `parseTarget` and the evaluator take it where they take
 * a spec. Unknown hook names are a TargetSpecError naming the nearest valid one (at once when `model` is
 * given, else when parsed against a model).
 */
export function customTarget(definition: CustomTargetDefinition): Target {
  const { name, value, model } = definition;
  if (typeof name !== 'string' || !/^\S+$/.test(name))
    throw new TargetSpecError(`a custom target needs a name without spaces, got ${JSON.stringify(name)}`);
  const spec = `${CUSTOM_PREFIX}${name}`;
  if (!Array.isArray(definition.hooks) || definition.hooks.some((h) => typeof h !== 'string'))
    throw new TargetSpecError(`${spec}: hooks must be an array of hook names`);
  if (typeof value !== 'function')
    throw new TargetSpecError(`${spec}: value must be a function of the views`);
  const hooks = [...new Set(definition.hooks)];
  const target: Target = {
    spec,
    hooks,
    value(inputs) {
      const views: TargetViews = {
        ...inputs,
        hook(hookName) {
          if (!hooks.includes(hookName))
            throw new TargetSpecError(
              `${spec} reads hook "${hookName}", which it does not declare in its hooks (${hooks.join(', ') || 'none'})`,
            );
          return hookValue(inputs, hookName);
        },
        at(hookName, p = -1) {
          const x = views.hook(hookName); // [B,T,F]
          if (x.rank !== 3)
            throw new TargetSpecError(
              `${spec}: at() reads [B,T,F] hooks; ${hookName} is [${x.shape.join(',')}]`,
            );
          return atPosition(x, position(p, x.shape[1] as number, `${spec}: at(${hookName})`));
        },
        feature(hookName, index, p = -1) {
          const x = views.at(hookName, p); // [B,F]
          const [B, F] = x.shape as [Dim, number];
          if (!Number.isInteger(index) || index < 0 || index >= F)
            throw new TargetSpecError(
              `${spec}: feature ${index} is out of range: ${hookName} has features 0..${F - 1}`,
            );
          return reshape(slice(x, [1], [index], [index + 1]), [B]); // [B]
        },
        lastLogits() {
          if (!inputs.logits) throw new GraphError(`${spec} reads logits, which need the full model`);
          return atPosition(inputs.logits, (inputs.logits.shape[1] as number) - 1); // [B,V]
        },
      };
      return value(views);
    },
  };
  if (model) checkTargetObject(target, { model, seqLen: 1 });
  return target;
}

/** A target given as an object: its shape, and every hook it reads a hook of the model. */
function checkTargetObject(target: Target, context: TargetContext): Target {
  if (
    typeof target !== 'object' ||
    target === null ||
    typeof target.spec !== 'string' ||
    !Array.isArray(target.hooks) ||
    typeof target.value !== 'function'
  )
    throw new TargetSpecError(
      'a target is a spec string or an object {spec, hooks, value} (see customTarget)',
    );
  for (const name of target.hooks) {
    const { name: canonical } = hookOf(name, context, target.spec);
    if (canonical !== name)
      throw new TargetSpecError(`${target.spec}: hook "${name}" is named "${canonical}"`);
  }
  return target;
}

function parseSpec(text: string, context: TargetContext): Target {
  if (text.startsWith(CUSTOM_PREFIX))
    throw new TargetSpecError(
      `${text} is a custom target, a function: give the target object (customTarget) again, not its name`,
    );
  if (text.startsWith('logit:')) return logitTarget(text, context);
  if (CONTINUATION.test(text)) return continuationTarget(text, context);
  if (text.startsWith('sae:')) {
    const sae = SAE.exec(text);
    if (!sae) throw new TargetSpecError(`cannot parse target "${text}"; expected sae:DIR[N] or sae:DIR[N]@P`);
    return saeTarget(text, sae, context);
  }
  const pattern = PATTERN.exec(text);
  if (pattern) return patternTarget(text, pattern, context);
  const direction = DIRECTION.exec(text);
  if (direction) return directionTarget(text, direction, context);
  const feature = FEATURE.exec(text);
  if (feature) return featureTarget(text, feature, context);
  throw new TargetSpecError(`cannot parse target "${text}"; expected one of:\n  ${TARGET_SYNTAX}`);
}

/** The hook `name` of the model (TargetSpecError naming the nearest valid one where it has none). */
export function hookOf(name: string, { model }: TargetContext, spec?: string): Hook {
  try {
    return parseHook(name, model.hookSpec);
  } catch (error) {
    throw new TargetSpecError(`${spec === undefined ? '' : `${spec}: `}${(error as Error).message}`);
  }
}

/** Position `p` of a spec (negative counts from the end) in 0..seqLen−1, or a TargetSpecError. */
export function position(p: number, seqLen: number, spec: string): number {
  const at = p < 0 ? p + seqLen : p;
  if (!Number.isInteger(at) || at < 0 || at >= seqLen)
    throw new TargetSpecError(
      `${spec}: position ${p} is out of range for ${seqLen} tokens (-${seqLen}..${seqLen - 1})`,
    );
  return at;
}

/** x[:, at, :] → [B, F]. */
export function atPosition(x: Node, at: number): Node {
  const [B, , F] = x.shape as [Dim, Dim, Dim];
  return reshape(slice(x, [1], [at], [at + 1]), [B, F]); // [B,F]
}

/** The value of hook `name` among the inputs (a GraphError where it was not given). */
export function hookValue({ hooks }: TargetInputs, name: string): Node {
  const h = hooks[name];
  if (!h)
    throw new GraphError(
      `the target reads hook "${name}", which was not given (given: ${Object.keys(hooks).join(', ') || 'none'})`,
    );
  return h;
}

function featureTarget(spec: string, [, hook, index, pos]: RegExpExecArray, context: TargetContext): Target {
  const { name, point } = hookOf(hook as string, context);
  if (point === 'attn.hook_pattern')
    throw new TargetSpecError(`${spec}: attention patterns are addressed as ${name}[h=H,k=K]`);
  const n = Number(index);
  const at = position(pos === undefined ? -1 : Number(pos), context.seqLen, spec);
  return {
    spec,
    hooks: [name],
    value(inputs) {
      const x = hookValue(inputs, name); // [B,T,F]
      const features = x.shape[2] as number;
      if (n >= features)
        throw new TargetSpecError(
          `${spec}: feature ${n} is out of range: ${name} has features 0..${features - 1}`,
        );
      const [B] = x.shape as [Dim];
      return reshape(slice(atPosition(x, at), [1], [n], [n + 1]), [B]); // [B]
    },
  };
}

function logitTarget(spec: string, { model, seqLen }: TargetContext): Target {
  const token = spec.slice('logit:'.length);
  const id = tokenId(token, model, spec);
  const vocab = model.config.vocabSize;
  const isToken = constant(
    Array.from({ length: vocab }, (_, v) => (v === id ? 1 : 0)),
    [vocab],
    'int64',
  );
  return {
    spec,
    hooks: [],
    value({ logits }) {
      if (!logits) throw new GraphError('a logit target needs the full model');
      const last = atPosition(logits, seqLen - 1); // [B,V]
      const mine = reduceSum(where(equal(isToken, 1), last, 0), [1]);
      const others = reduceMax(where(equal(isToken, 1), -Infinity, last), [1]);
      return sub(mine, others);
    },
  };
}

/** A token given as a JSON string, e.g. `" cat"`. */
function quoted(token: string, spec: string): string {
  try {
    return JSON.parse(token) as string;
  } catch {
    throw new TargetSpecError(
      `${spec}: ${token} is not a JSON string (escape quotes and backslashes as JSON does)`,
    );
  }
}

function tokenId(token: string, model: Model, spec: string): number {
  const vocab = model.config.vocabSize;
  if (/^#\d+$/.test(token)) {
    const id = Number(token.slice(1));
    if (id >= vocab) throw new TargetSpecError(`${spec}: token id ${id} is out of range (0..${vocab - 1})`);
    return id;
  }
  const text = /^".*"$/.test(token) ? quoted(token, spec) : token;
  if (!model.tokenizer)
    throw new TargetSpecError(`${spec}: this model has no tokenizer; name the token as #id`);
  const ids = model.tokenizer.encode(text, { bos: false });
  if (ids.length !== 1)
    throw new TargetSpecError(
      `${spec}: "${text}" is ${ids.length} tokens (${ids.join(', ')}), expected exactly one; use #id to pick one`,
    );
  return ids[0] as number;
}

function directionTarget(spec: string, [, hook, file]: RegExpExecArray, context: TargetContext): Target {
  const { name, point } = hookOf(hook as string, context);
  if (point === 'attn.hook_pattern')
    throw new TargetSpecError(
      `${spec}: a direction reads a hook's features; attention patterns are addressed as ${name}[h=H,k=K]`,
    );
  const direction = (context.readDirection ?? readDirectionFile)(file as string);
  if (!Array.isArray(direction) || direction.length === 0 || direction.some((v) => typeof v !== 'number'))
    throw new TargetSpecError(`${spec}: ${file} must hold a JSON array of numbers`);
  return {
    spec,
    hooks: [name],
    value(inputs) {
      const x = atPosition(hookValue(inputs, name), context.seqLen - 1); // [B,F]
      const features = x.shape[1] as number;
      if (direction.length !== features)
        throw new TargetSpecError(
          `${spec}: the direction has ${direction.length} entries, ${name} has ${features} features`,
        );
      // (x − mean)/std over the features (population std), then · direction
      const centered = sub(x, reduceMean(x, [1], true));
      const std = sqrt(reduceMean(mul(centered, centered), [1], true));
      const standardized = div(centered, add(std, scalar(1e-12, x.dtype)));
      return reduceSum(mul(standardized, constant(direction, [features], x.dtype)), [1]);
    },
  };
}

function patternTarget(spec: string, [, hook, head, key]: RegExpExecArray, context: TargetContext): Target {
  const { name, point } = hookOf(hook as string, context);
  if (point !== 'attn.hook_pattern')
    throw new TargetSpecError(
      `${spec}: [h=H,k=K] addresses attention patterns (blocks.L.attn.hook_pattern), not ${name}`,
    );
  const h = Number(head);
  const k = position(Number(key), context.seqLen, spec);
  return {
    spec,
    hooks: [name],
    value(inputs) {
      const p = hookValue(inputs, name); // [B,H,T,S]
      const heads = p.shape[1] as number;
      if (h >= heads) throw new TargetSpecError(`${spec}: head ${h} is out of range (0..${heads - 1})`);
      const [B] = p.shape as [Dim];
      const entry = slice(p, [1, 2, 3], [h, context.seqLen - 1, k], [h + 1, context.seqLen, k + 1]); // [B,1,1,1]
      return reshape(entry, [B]);
    },
  };
}

/**
 * A SAELens feature's pre-activation at a position: (x − b_dec)·W_enc[:, N] + b_enc[N] on the SAE's hook
 * (b_dec subtracted where its cfg.json says apply_b_dec_to_input), dreamy's "SAE feature" target.
 */
function saeTarget(spec: string, [, dir, index, pos]: RegExpExecArray, context: TargetContext): Target {
  let feature: SaeFeature;
  try {
    feature = readSaeFeature(dir as string, Number(index));
  } catch (error) {
    throw new TargetSpecError(`${spec}: ${(error as Error).message}`);
  }
  const { name } = hookOf(feature.hook, context);
  const at = position(pos === undefined ? -1 : Number(pos), context.seqLen, spec);
  return {
    spec,
    hooks: [name],
    value(inputs) {
      const x = atPosition(hookValue(inputs, name), at); // [B,F]
      const width = x.shape[1] as number;
      if (width !== feature.dIn)
        throw new TargetSpecError(`${spec}: the SAE reads ${feature.dIn} features, ${name} has ${width}`);
      const shifted = feature.inputShift ? sub(x, constant(feature.inputShift, [width], x.dtype)) : x;
      const [B] = x.shape as [Dim];
      const encoded = matmul(shifted, constant(feature.encoder, [width, 1], x.dtype)); // [B,1]
      return add(reshape(encoded, [B]), feature.bias);
    },
  };
}
