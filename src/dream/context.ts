/**
 * The fixed context of a run's prompts: a template's text around them ('BEFORE {prompt} AFTER', nanoGCG's
 * {optim_str}; a chat template, a story opening) and a continuation target's text after it. EPO changes only
 * the prompt's tokens; the model reads
 *   [BOS?] BEFORE  prompt  AFTER  TEXT?
 * and targets read positions relative to the end of it all. Several templates optimise one prompt for
 * several contexts at once (flrt's tasks), their targets and xents averaged.
 */
import type { Model } from '../models/model.ts';
import { encodeFollowing, readsAs } from '../tokenizers/following.ts';
import { OptionsError } from './options.ts';

/** Where a template puts the prompt. */
export const PROMPT_SLOT = '{prompt}';

/** A template that does not hold exactly one {prompt}, or whose text does not tokenize as written. */
export class TemplateError extends Error {
  override name = 'TemplateError';
}

/** The fixed tokens around a prompt: `before` after the BOS (if any), `after` before a continuation. */
export interface SequenceContext {
  before: number[];
  after: number[];
}

/** A template's text before and after its one {prompt}. */
export function splitTemplate(template: string): { before: string; after: string } {
  const parts = template.split(PROMPT_SLOT);
  if (parts.length !== 2)
    throw new TemplateError(
      `the template ${JSON.stringify(template)} holds ${parts.length - 1} ${PROMPT_SLOT}; ` +
        `expected exactly one, where the optimized tokens go, e.g. 'Once upon a time{prompt}'`,
    );
  return { before: parts[0] as string, after: parts[1] as string };
}

/** A template's fixed tokens, each part checked to read back as written. */
export function templateContext(model: Model, template: string): SequenceContext {
  const { before, after } = splitTemplate(template);
  const tokenizer = model.tokenizer;
  if (!tokenizer) throw new TemplateError(`model ${model.id} has no tokenizer to encode the template`);
  const beforeIds = before === '' ? [] : tokenizer.encode(before, { bos: false });
  if (tokenizer.decode(beforeIds) !== before)
    throw new TemplateError(
      `the template's text before ${PROMPT_SLOT}, ${JSON.stringify(before)}, does not tokenize as written: ` +
        `its tokens read ${JSON.stringify(tokenizer.decode(beforeIds))}`,
    );
  const afterIds = after === '' ? [] : encodeFollowing(tokenizer, after);
  if (!afterIds)
    throw new TemplateError(
      `the template's text after ${PROMPT_SLOT}, ${JSON.stringify(after)}, does not tokenize as written: ` +
        `after the prompt its tokens read ${JSON.stringify(readsAs(tokenizer, after))}`,
    );
  return { before: beforeIds, after: afterIds };
}

/**
 * A run's contexts: one per template (one without fixed text where there is none), each followed by the
 * target's continuation; every sequence checked against the model's context length.
 */
export function runContexts(
  model: Model,
  templates: readonly string[],
  continuation: readonly number[],
  { seqLen, bos }: { seqLen: number; bos: number | null },
): SequenceContext[] {
  const contexts =
    templates.length === 0 ? [{ before: [], after: [] }] : templates.map((t) => templateContext(model, t));
  const limit = model.config.maxPositions;
  return contexts.map(({ before, after }, i) => {
    const length = (bos === null ? 0 : 1) + before.length + seqLen + after.length + continuation.length;
    if (length > limit)
      throw new OptionsError(
        `${templates.length > 0 ? `template ${i + 1}: ` : ''}the sequence is ${length} tokens ` +
          `(${bos === null ? '' : 'BOS + '}${before.length} before + ${seqLen} optimized + ${after.length} after` +
          `${continuation.length > 0 ? ` + ${continuation.length} of the continuation` : ''}), ` +
          `past the model's context of ${limit}`,
      );
    return { before, after: [...after, ...continuation] };
  });
}
