/**
 * Token forcing (nanoGCG, flrt): how likely a model is to continue the prompt with a given text, teacher-forced.
 * For the n tokens y_1..y_n of the text after the sequence's other tokens, with ℓ_i = −log p(y_i | ·):
 *   continuation:TEXT             −mean_i ℓ_i, the mean log-probability;
 *   continuation-min:TEXT         −max_i ℓ_i, so that no token is left unlikely;
 *   continuation-mellowmax:TEXT   −mm(ℓ) = −log(mean_i exp(ℓ_i)), nanoGCG's mellowmax loss at α = 1, between the two
 *                                 (nanoGCG takes it over the negated logits; here over ℓ, on the others' scale);
 *   continuation-margin:TEXT      mean_i min(m_i, 1) of the logit margins m_i = logit(y_i) − max_{v≠y_i} logit(v)
 *                                 (Carlini & Wagner's loss): greedy decoding says the text when every m_i > 0.
 * The text is fixed context after the prompt (and a template's ending): the target reads the logits of the
 * positions before each of its tokens, the gradient flows through the prompt's tokens only.
 */
import {
  add,
  constant,
  equal,
  exp,
  expand,
  gatherElements,
  GraphError,
  less,
  log,
  logSoftmax,
  neg,
  reduceMax,
  reduceMean,
  reshape,
  slice,
  squeeze,
  sub,
  where,
  type Dim,
} from '../graph/index.ts';
import type { Model } from '../models/model.ts';
import { encodeFollowing, readsAs } from '../tokenizers/following.ts';
import { TargetSpecError, type Target, type TargetContext } from './target-types.ts';

export const CONTINUATION = /^continuation(?:-(min|mellowmax|margin))?:([\s\S]*)$/;

/** How a continuation target folds its tokens' losses. */
export type ContinuationLoss = 'mean' | 'min' | 'mellowmax' | 'margin';

export const CONTINUATION_LOSSES: readonly ContinuationLoss[] = ['mean', 'min', 'mellowmax', 'margin'];

/** A continuation given as token ids, `#12,#34,#5` (a text that reads so is written as a JSON string). */
const IDS = /^#\d+(?:,#\d+)*$/;

/** Where a margin stops counting: a token ahead of every other by this many logits is won. */
export const MARGIN_CAP = 1;

/** The spec of a continuation target of `text` with a loss. */
export function continuationSpec(text: string, loss: ContinuationLoss = 'mean'): string {
  return `continuation${loss === 'mean' ? '' : `-${loss}`}:${text}`;
}

/**
 * A continuation spec with its loss set to `loss` (the CLI's --loss); a TargetSpecError for a spec of
 * another kind.
 */
export function continuationWithLoss(spec: string, loss: string): string {
  const match = CONTINUATION.exec(spec.trim());
  if (!match)
    throw new TargetSpecError(`--loss ${loss} is for continuation:TEXT targets; the target is ${spec}`);
  return continuationSpec(match[2] as string, loss as ContinuationLoss);
}

/** The text of a spec's TEXT part: as written, or a JSON string (for leading spaces and escapes). */
function specText(raw: string, spec: string): string {
  if (!/^".*"$/s.test(raw)) return raw;
  try {
    return JSON.parse(raw) as string;
  } catch {
    throw new TargetSpecError(
      `${spec}: ${raw} is not a JSON string (escape quotes and backslashes as JSON does)`,
    );
  }
}

/**
 * The ids of a continuation target's text, as they follow the prompt (or as given: #ID,#ID…); undefined for a
 * spec of another kind.
 * Empty text, a model without a tokenizer, and text whose tokens do not read back as written (e.g. 'lily'
 * under a SentencePiece tokenizer, which can only start a continuation with a new word) are TargetSpecErrors.
 */
export function continuationIds(spec: string, model: Model): number[] | undefined {
  const match = CONTINUATION.exec(spec.trim());
  if (!match) return undefined;
  if (IDS.test(match[2] as string)) {
    const ids = (match[2] as string).split(',').map((id) => Number(id.slice(1)));
    const V = model.config.vocabSize;
    const bad = ids.find((id) => id >= V);
    if (bad !== undefined)
      throw new TargetSpecError(`${spec}: token id ${bad} is out of range (0..${V - 1})`);
    return ids;
  }
  const text = specText(match[2] as string, spec);
  if (text === '')
    throw new TargetSpecError(`${spec}: the continuation is empty; give the text after the colon`);
  const tokenizer = model.tokenizer;
  if (!tokenizer) throw new TargetSpecError(`${spec}: model ${model.id} has no tokenizer to encode the text`);
  const ids = encodeFollowing(tokenizer, text);
  if (!ids)
    throw new TargetSpecError(
      `${spec}: ${JSON.stringify(text)} does not tokenize as given: after other tokens its tokens read ` +
        `${JSON.stringify(readsAs(tokenizer, text))}` +
        (text.startsWith(' ') ? '' : ' (a continuation that starts a new word begins with a space)'),
    );
  return ids;
}

/** A continuation target over sequences of `seqLen` tokens that end with its text's ids. */
export function continuationTarget(spec: string, context: TargetContext): Target {
  const [, loss = 'mean'] = CONTINUATION.exec(spec) as RegExpExecArray;
  const ids = continuationIds(spec, context.model) as number[];
  const n = ids.length;
  const T = context.seqLen;
  if (T < n + 1)
    throw new TargetSpecError(
      `${spec}: the text is ${n} tokens; a sequence of ${T} has no room for a prompt before it`,
    );
  return {
    spec,
    hooks: [],
    continuation: ids,
    value({ logits }) {
      if (!logits) throw new GraphError(`${spec} reads logits, which need the full model`);
      const before = slice(logits, [1], [T - n - 1], [T - 1]); // [B,n,V]: the positions before each token
      const [B] = before.shape as [Dim];
      const at = expand(constant(ids, [1, n, 1], 'int64'), [B, n, 1]);
      if (loss === 'margin') {
        // m_i = ℓ(y_i) − max_{v≠y_i} ℓ(v), capped at MARGIN_CAP; all m_i > 0 is greedy decoding saying the text
        const V = before.shape[2] as number;
        const vocab = constant(
          Array.from({ length: V }, (_, v) => v),
          [1, 1, V],
          'int64',
        );
        const isText = equal(vocab, constant(ids, [1, n, 1], 'int64')); // [1,n,V]
        const mine = squeeze(gatherElements(before, at, 2), [2]); // [B,n]
        const others = reduceMax(where(isText, -Infinity, before), [2]); // [B,n]
        const margins = sub(mine, others);
        return reduceMean(where(less(margins, MARGIN_CAP), margins, MARGIN_CAP), [1]);
      }
      const logprobs = squeeze(gatherElements(logSoftmax(before, -1), at, 2), [2]); // [B,n]
      if (loss === 'min') return neg(reduceMax(neg(logprobs), [1])); // min_i log p
      if (loss === 'mean') return reduceMean(logprobs, [1]);
      // −log mean exp(ℓ), ℓ = −log p, with the largest ℓ taken out for stability
      const losses = neg(logprobs);
      const top = reduceMax(losses, [1], true); // [B,1]
      const meanExp = reduceMean(exp(sub(losses, top)), [1], true);
      return reshape(neg(add(top, log(meanExp))), [B]);
    },
  };
}
