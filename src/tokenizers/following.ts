import type { Tokenizer } from './tokenizer.ts';

/**
 * The ids of `text` as it reads after other tokens (a continuation, a template's ending), or undefined where
 * no encoding of it decodes back to exactly `text` there. A SentencePiece tokenizer prefixes a space to
 * what it encodes (add_dummy_prefix), so ' the dog' is encoded as 'the dog', whose first piece carries the
 * space, and '.' as a bare space and '.', of which the '.' is kept; a byte-level BPE encodes ' the dog' as it
 * is. Either way the ids are checked by decoding them after
 * an anchor token: they must add exactly `text` to the anchor's text.
 */
export function encodeFollowing(tokenizer: Tokenizer, text: string): number[] | undefined {
  const anchor = tokenizer.encode('a', { bos: false });
  const before = tokenizer.decode(anchor);
  const tries = text.startsWith(' ') ? [text, text.slice(1)] : [text];
  for (const attempt of tries) {
    if (attempt === '') continue;
    const ids = tokenizer.encode(attempt, { bos: false });
    // Where the dummy prefix stays a token of its own (a bare space before '.'), the rest without it.
    for (const candidate of [ids, ids.slice(1)])
      if (candidate.length > 0 && tokenizer.decode([...anchor, ...candidate]) === before + text)
        return candidate;
  }
  return undefined;
}

/** How `text` reads after other tokens when encoded plainly: for an error that says why it cannot be used. */
export function readsAs(tokenizer: Tokenizer, text: string): string {
  const anchor = tokenizer.encode('a', { bos: false });
  const ids = tokenizer.encode(text, { bos: false });
  return tokenizer.decode([...anchor, ...ids]).slice(tokenizer.decode(anchor).length);
}
