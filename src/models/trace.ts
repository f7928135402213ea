/**
 * One forward pass with its hooks, as plain numbers: reverie's `run_with_cache` (TransformerLens), what
 * `reverie trace --json` prints. Not exported by src/models/index.ts (it compiles with the Node runtime by
 * default); the package entry exports it.
 */
import { input } from '../graph/index.ts';
import { nodeRuntime } from '../runtime/node.ts';
import type { HostTensor, Runtime } from '../runtime/types.ts';
import type { Model } from './model.ts';

export interface TraceOptions {
  /** Hook names whose values to return, e.g. `blocks.1.mlp.hook_post` (default none). */
  hooks?: readonly string[];
  /**
   * Put the tokenizer's BOS before the tokens. Default: for a text prompt, where the tokenizer adds one (as
   * `reverie trace --prompt`); token ids are run as given (as `--ids`).
   */
  bos?: boolean;
  threads?: number;
  /** Compiles the pass (default: ONNX Runtime for Node). */
  runtime?: Runtime;
}

export interface Trace {
  /** The tokens run, BOS included; `text` is null without a tokenizer. */
  tokens: { id: number; text: string | null }[];
  /** xent[t−1] = −log p(ids[t] | ids[<t]), for t = 1..T−1, in nats. */
  xent: number[];
  /** The logits after the last token [V]. */
  logits_last: number[];
  /**
   * Each requested hook as [position][feature]; `attn.hook_pattern` as [query position][head·T + key
   * position].
   */
  hooks: Record<string, number[][]>;
}

/** A prompt that cannot be traced: no tokens, too many, ids outside the vocabulary, text without a tokenizer. */
export class TraceError extends Error {
  override name = 'TraceError';
}

/** The token ids a trace runs for a prompt (text or ids), with the BOS where `bos` asks for one. */
export function traceIds(model: Model, prompt: string | readonly number[], bos?: boolean): number[] {
  const tokenizer = model.tokenizer;
  const V = model.config.vocabSize;
  let ids: number[];
  if (typeof prompt === 'string') {
    if (!tokenizer) throw new TraceError(`model ${model.id} has no tokenizer: give token ids`);
    const withBos = bos ?? tokenizer.addsBosByDefault;
    if (withBos) bosOf(model);
    ids = tokenizer.encode(prompt, { bos: withBos });
  } else {
    const bad = prompt.find((id) => !(Number.isInteger(id) && id >= 0 && id < V));
    if (bad !== undefined) throw new TraceError(`token ids must be integers in [0, ${V}), got ${bad}`);
    ids = [...(bos ? [bosOf(model)] : []), ...prompt];
  }
  if (ids.length === 0) throw new TraceError('the prompt has no tokens');
  if (ids.length > model.config.maxPositions)
    throw new TraceError(`${ids.length} tokens exceed the model's ${model.config.maxPositions} positions`);
  return ids;
}

function bosOf(model: Model): number {
  const id = model.tokenizer?.bosId;
  if (id === undefined) throw new TraceError(`model ${model.id} has no BOS token`);
  return id;
}

/**
 * Runs the model once on a prompt — text (tokenized, with a BOS where the tokenizer adds one) or token ids
 * (run as given) — and returns the tokens, each position's next-token cross-entropy, the last position's
 * logits and the requested hooks. An unknown hook is an UnknownHookError naming the nearest valid one.
 */
export async function trace(
  model: Model,
  prompt: string | readonly number[],
  options: TraceOptions = {},
): Promise<Trace> {
  const ids = traceIds(model, prompt, options.bos);
  const hookNames = [...(options.hooks ?? [])];
  const V = model.config.vocabSize;
  const T = ids.length;
  const tokens = input('tokens', 'int64', [1, T]);
  const { logits, hooks } = model.build({ tokens, hooks: hookNames });
  const session = await (options.runtime ?? nodeRuntime).compile({
    outputs: { logits: logits!, ...hooks },
    ...(options.threads !== undefined && { threads: options.threads }),
  });
  let out: Record<string, HostTensor>;
  try {
    out = await session.run({
      tokens: { dtype: 'int64', shape: [1, T], data: BigInt64Array.from(ids, BigInt) },
    });
  } finally {
    await session.dispose();
  }
  const all = out.logits!.data as Float32Array; // [1,T,V]
  const row = (t: number) => all.subarray(t * V, (t + 1) * V);
  // xent[t−1] = logsumexp(logits[t−1]) − logits[t−1][ids[t]], in float64
  const xent = ids.slice(1).map((id, t) => logSumExp(row(t)) - (row(t)[id] as number));
  const tokenizer = model.tokenizer;
  return {
    tokens: ids.map((id) => ({ id, text: tokenizer ? tokenizer.decodeToken(id) : null })),
    xent,
    logits_last: Array.from(row(T - 1)),
    hooks: Object.fromEntries(hookNames.map((name) => [name, byPosition(out[name]!)])),
  };
}

/** log Σ exp(x), in float64. */
export function logSumExp(x: ArrayLike<number>): number {
  let max = -Infinity;
  for (let i = 0; i < x.length; i++) max = Math.max(max, x[i] as number);
  let sum = 0;
  for (let i = 0; i < x.length; i++) sum += Math.exp((x[i] as number) - max);
  return max + Math.log(sum);
}

/** A hook of batch 1 as [position][feature]: [1,T,F] as is, [1,H,T,S] as [T][H·S] (head-major). */
function byPosition(t: HostTensor): number[][] {
  const data = t.data as Float32Array;
  if (t.shape.length === 3) {
    const [, T, F] = t.shape as [number, number, number];
    return Array.from({ length: T }, (_, p) => Array.from(data.subarray(p * F, (p + 1) * F)));
  }
  const [, H, T, S] = t.shape as [number, number, number, number];
  return Array.from({ length: T }, (_, p) =>
    Array.from({ length: H * S }, (_, j) => data[(Math.floor(j / S) * T + p) * S + (j % S)] as number),
  );
}
