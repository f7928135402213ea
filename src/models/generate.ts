import { END, input, reshape, slice } from '../graph/index.ts';
import type { Runtime } from '../runtime/types.ts';
import type { Model } from './model.ts';

export interface GenerateOptions {
  /** Compiles the graph (nodeRuntime in Node). */
  runtime: Runtime;
  /** The prompt's token ids (with its BOS, where the model uses one); at least one id. */
  prompt: readonly number[];
  /** Most new tokens; generation also stops at a stop id or at the model's context length. */
  maxTokens: number;
  /** 0 (default): greedy argmax; otherwise sample from softmax(logits / temperature). */
  temperature?: number;
  /** Seed of the sampler (default 0): the same seed, prompt and temperature give the same tokens. */
  seed?: number;
  /** Ids that end the text (not included); default the tokenizer's EOS, and its BOS where it adds one. */
  stopIds?: readonly number[];
  threads?: number;
  /** Called with each new id as it is chosen. */
  onToken?: (id: number) => void;
}

/**
 * Autoregressive text from a model. One session is compiled with a symbolic sequence length T and the
 * whole sequence is recomputed for every new token (no key/value cache): simple, and cheap for small models.
 * Returns the new ids, without the prompt.
 */
export async function generate(model: Model, options: GenerateOptions): Promise<number[]> {
  const { prompt, maxTokens, temperature = 0 } = options;
  if (prompt.length === 0) throw new RangeError('generate needs a prompt of at least one token (e.g. BOS)');
  const V = model.config.vocabSize;
  const tokens = input('tokens', 'int64', [1, 'T']);
  const positions = input('positions', 'int64', ['T']);
  const { logits } = model.build({ tokens, positions });
  const last = reshape(slice(logits!, [1], [-1], [END]), [1, V]); // [1,V]: the next-token logits
  const session = await options.runtime.compile({
    outputs: { last },
    ...(options.threads !== undefined && { threads: options.threads }),
  });
  const tokenizer = model.tokenizer;
  const stop = new Set(
    options.stopIds ??
      [tokenizer?.eosId, tokenizer?.addsBosByDefault ? tokenizer.bosId : undefined].filter(
        (id): id is number => id !== undefined,
      ),
  );
  const random = mulberry32(options.seed ?? 0);
  const ids = [...prompt];
  const generated: number[] = [];
  try {
    while (generated.length < maxTokens && ids.length < model.config.maxPositions) {
      const T = ids.length;
      const out = await session.run({
        tokens: { dtype: 'int64', shape: [1, T], data: BigInt64Array.from(ids, BigInt) },
        positions: {
          dtype: 'int64',
          shape: [T],
          data: BigInt64Array.from({ length: T }, (_, t) => BigInt(t)),
        },
      });
      const next = pick(out.last!.data as Float32Array, temperature, random);
      if (stop.has(next)) break;
      ids.push(next);
      generated.push(next);
      options.onToken?.(next);
    }
  } finally {
    await session.dispose();
  }
  return generated;
}

/** argmax at temperature 0 (the first of ties); else a draw from softmax(logits / temperature). */
function pick(logits: Float32Array, temperature: number, random: () => number): number {
  let best = 0;
  for (let v = 1; v < logits.length; v++) if ((logits[v] as number) > (logits[best] as number)) best = v;
  if (temperature <= 0) return best;
  const max = logits[best] as number;
  const weights = Array.from(logits, (l) => Math.exp((l - max) / temperature));
  let u = random() * weights.reduce((a, b) => a + b, 0);
  for (let v = 0; v < weights.length; v++) {
    u -= weights[v] as number;
    if (u < 0) return v;
  }
  return best;
}

/** mulberry32: a small seeded PRNG with uniform output in [0, 1). */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
