import type { Model } from '../models/model.ts';
import { continuationIds } from '../objectives/continuation.ts';
import { parseTarget, type Target } from '../objectives/target.ts';
import { ModelEvaluator } from './engine/evaluator.ts';
import { tokenPolicy } from './tokens.ts';

export interface FavouredSwaps {
  target: { spec: string; value: number };
  /** Per position (after a fixed BOS), the tokens whose swap −∂(−target)/∂onehot favours most, best first. */
  favoured: { position: number; ids: number[] }[];
}

/**
 * An evaluator whose gradient program, run at penalty 0, ranks the k tokens the target's gradient favours at
 * each position (k capped at the tokens that may be proposed; banned tokens never ranked); a continuation
 * target's text follows the prompt.
 */
export function targetGradientEvaluator(
  model: Model,
  target: Target,
  { seqLen, bos, k, threads }: { seqLen: number; bos?: number; k: number; threads?: number },
): Promise<ModelEvaluator> {
  const policy = tokenPolicy(model.config.vocabSize, model.tokenizer, false);
  return ModelEvaluator.create(model, target, {
    seqLen,
    ...(bos === undefined ? {} : { bos }),
    ...(target.continuation && { suffix: target.continuation }),
    topk: Math.min(k, policy.allowed.length),
    banned: policy.banned,
    evaluation: 'full',
    ...(threads !== undefined && { threads }),
  });
}

/** The target's value and, per position, the k tokens its one-hot gradient favours (never banned tokens). */
export async function favouredSwaps(
  model: Model,
  ids: readonly number[],
  spec: string,
  { k, threads }: { k: number; threads?: number },
): Promise<FavouredSwaps> {
  const target = parseTarget(spec, {
    model,
    seqLen: ids.length + (continuationIds(spec, model)?.length ?? 0),
  });
  const bos = model.tokenizer?.bosId !== undefined && ids[0] === model.tokenizer.bosId ? ids[0] : undefined;
  const prefix = bos === undefined ? 0 : 1;
  const evaluator = await targetGradientEvaluator(model, target, {
    seqLen: ids.length - prefix,
    ...(bos === undefined ? {} : { bos }),
    k,
    ...(threads !== undefined && { threads }),
  });
  try {
    const { target: value, topk } = await evaluator.gradient([ids.slice(prefix)], [0]);
    const per = topk[0] as Int32Array;
    const width = per.length / (ids.length - prefix);
    return {
      target: { spec, value: value[0] as number },
      favoured: ids.slice(prefix).map((_, t) => ({
        position: t + prefix,
        ids: Array.from(per.subarray(t * width, (t + 1) * width)),
      })),
    };
  } finally {
    await evaluator.dispose();
  }
}
