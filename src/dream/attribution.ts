import type { Model } from '../models/model.ts';
import { continuationIds } from '../objectives/continuation.ts';
import { parseTarget } from '../objectives/target.ts';
import { targetGradientEvaluator } from './favoured.ts';
import { tokenPolicy } from './tokens.ts';

/** An attribution that cannot run as asked (an empty prompt, a k of 0, a BOS the model lacks). */
export class AttributionError extends Error {
  override name = 'AttributionError';
}

export interface AttributionRequest {
  model: Model;
  target: string;
  /** The prompt's tokens, without the BOS. */
  ids: readonly number[];
  /** A fixed BOS id before the tokens (not attributed), or null. */
  bos: number | null;
  /** Replacements per position: the top-k tokens of the gradient (default 64). */
  k?: number;
  /** Swapped prompts per run of the fitness program (default 256). */
  batchSize?: number;
  threads?: number;
}

export interface Replacement {
  id: number;
  /** Its token's text, null without a tokenizer. */
  text: string | null;
  /** The target and xent of the prompt with this token swapped in. */
  target: number;
  xent: number;
}

export interface PositionAttribution {
  /** Index in the prompt (BOS not counted). */
  position: number;
  id: number;
  text: string | null;
  /** The largest drop of the target over the position's swaps: baseline − the worst swap's target. */
  drop: number;
  /** max(drop, 0) over the largest such drop of the prompt: 0..1, what the shading shows. */
  importance: number;
  /** The swap that lowers the target most. */
  worst: Replacement;
  /** The three swaps with the highest targets, highest first. */
  top: Replacement[];
  /** Every swap, in the gradient's order (most favoured first). */
  replacements: Replacement[];
}

export interface Attribution {
  model: string;
  target: string;
  bos: number | null;
  ids: number[];
  text: string | null;
  k: number;
  baseline: { target: number; xent: number };
  positions: PositionAttribution[];
}

/**
 * Resampling attribution (dreamy's `attribution.resample`): the gradient of the target (penalty 0) with
 * respect to the one-hot prompt gives, per position, the k tokens whose swap it favours most; every such
 * single-token swap is evaluated with the fitness program in batches, and a position matters as much as
 * the target drops under its worst swap. Banned tokens (special, padded rows) are never swapped in.
 */
export async function attribute(request: AttributionRequest): Promise<Attribution> {
  const { model, ids, bos } = request;
  if (ids.length === 0) throw new AttributionError('the prompt has no tokens');
  const policy = tokenPolicy(model.config.vocabSize, model.tokenizer, false);
  const k = Math.min(request.k ?? 64, policy.allowed.length);
  if (!Number.isInteger(k) || k < 1) throw new AttributionError(`k must be ≥ 1, got ${request.k}`);
  const batchSize = request.batchSize ?? 256;
  const seqLen = ids.length;
  const length = seqLen + (bos === null ? 0 : 1);
  // a continuation target's text follows the prompt (targetGradientEvaluator)
  const continuation = continuationIds(request.target, model) ?? [];
  const total = length + continuation.length;
  if (total > model.config.maxPositions)
    throw new AttributionError(`${total} tokens exceed the model's ${model.config.maxPositions} positions`);
  const target = parseTarget(request.target, { model, seqLen: total });
  const evaluator = await targetGradientEvaluator(model, target, {
    seqLen,
    ...(bos === null ? {} : { bos }),
    k,
    ...(request.threads && { threads: request.threads }),
  });
  const prompt = [...ids];
  const textOf = (id: number) => model.tokenizer?.decodeToken(id) ?? null;
  try {
    const baseline = await evaluator.evaluate([prompt]);
    const { topk } = await evaluator.gradient([prompt], [0]);
    const favoured = topk[0] as Int32Array; // [seqLen, k]
    const swaps = Array.from({ length: seqLen * k }, (_, s) => {
      const swapped = [...prompt];
      swapped[Math.floor(s / k)] = favoured[s] as number;
      return swapped;
    });
    const targets: number[] = [];
    const xents: number[] = [];
    for (let start = 0; start < swaps.length; start += batchSize) {
      const out = await evaluator.evaluate(swaps.slice(start, start + batchSize));
      targets.push(...out.target);
      xents.push(...out.xent);
    }
    const base = baseline.target[0] as number;
    const positions = prompt.map((id, position) => {
      const replacements = Array.from({ length: k }, (_, j) => {
        const s = position * k + j;
        const swapped = favoured[s] as number;
        return { id: swapped, text: textOf(swapped), target: targets[s] as number, xent: xents[s] as number };
      });
      const worst = replacements.reduce((a, b) => (b.target < a.target ? b : a));
      const top = [...replacements].sort((a, b) => b.target - a.target).slice(0, 3);
      return {
        position,
        id,
        text: textOf(id),
        drop: base - worst.target,
        importance: 0,
        worst,
        top,
        replacements,
      };
    });
    const largest = Math.max(0, ...positions.map((p) => p.drop));
    for (const p of positions) p.importance = largest > 0 ? Math.max(p.drop, 0) / largest : 0;
    return {
      model: model.id,
      target: target.spec,
      bos,
      ids: prompt,
      text: model.tokenizer?.decode(prompt) ?? null,
      k,
      baseline: { target: base, xent: baseline.xent[0] as number },
      positions,
    };
  } finally {
    await evaluator.dispose();
  }
}
