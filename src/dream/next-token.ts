import type { Model } from '../models/model.ts';
import type { Target } from '../objectives/target.ts';
import { ModelEvaluator } from './engine/evaluator.ts';

/**
 * The model's likeliest next token after each prompt (with the BOS, if any, as the run put it): what a
 * prompt makes the model say next, shown beside a dream's frontier as the reference's notebooks show it.
 */
export async function nextTokens(
  model: Model,
  target: Target,
  prompts: readonly (readonly number[])[],
  bos: number | null,
  threads?: number,
): Promise<number[]> {
  if (prompts.length === 0) return [];
  const evaluator = await ModelEvaluator.create(model, target, {
    seqLen: (prompts[0] as readonly number[]).length,
    ...(bos === null ? {} : { bos }),
    topk: 1,
    banned: Array.from({ length: model.config.vocabSize }, () => false),
    evaluation: 'full',
    argmax: true,
    ...(threads !== undefined && { threads }),
  });
  try {
    return (await evaluator.evaluate(prompts)).argmax;
  } finally {
    await evaluator.dispose();
  }
}
