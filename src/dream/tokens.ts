import type { Tokenizer } from '../tokenizers/tokenizer.ts';

export interface TokenPolicy {
  /** Per embedding row: true when it may never be proposed. */
  banned: boolean[];
  /** The rows that may be. */
  allowed: number[];
}

/**
 * Token hygiene: special tokens and embedding rows past the tokenizer's vocabulary (Pythia pads 50,277 to
 * 50,304) are never proposed; with `ascii`, neither are tokens whose text is not printable ASCII.
 */
export function tokenPolicy(
  vocabRows: number,
  tokenizer: Tokenizer | undefined,
  ascii: boolean,
): TokenPolicy {
  const special = new Set(tokenizer?.specialIds ?? []);
  const limit = Math.min(vocabRows, tokenizer?.vocabSize ?? vocabRows);
  const banned = Array.from({ length: vocabRows }, (_, id) => {
    if (id >= limit || special.has(id)) return true;
    if (ascii && tokenizer) return !/^[\x20-\x7e]*$/.test(tokenizer.decodeToken(id));
    return false;
  });
  const allowed = banned.flatMap((b, id) => (b ? [] : [id]));
  return { banned, allowed };
}

/** Whether decoding the ids and encoding the text again (no BOS) gives the same ids. */
export function roundTrips(tokenizer: Tokenizer, ids: readonly number[]): boolean {
  const again = tokenizer.encode(tokenizer.decode([...ids]), { bos: false });
  return again.length === ids.length && again.every((id, i) => id === ids[i]);
}
