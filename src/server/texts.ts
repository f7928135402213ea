/**
 * Texts of prompts the store keeps as token ids: the model's tokenizer, found offline (a page never starts
 * a download) and read once per model; without one, the ids themselves.
 */
import { resolveModel } from '../io/resolve.ts';
import { loadTokenizer } from '../tokenizers/load.ts';
import type { Tokenizer } from '../tokenizers/tokenizer.ts';

export interface Texts {
  /** A prompt's text. */
  text(ids: readonly number[]): string;
  /** One token's text, for shading tokens one by one. */
  token(id: number): string;
}

const idsOnly: Texts = { text: (ids) => ids.join(' '), token: (id) => `#${id}` };

export class TextCache {
  private readonly tokenizers = new Map<string, Promise<Tokenizer | undefined>>();

  /** Uses a tokenizer already at hand (a model the server loaded) for its model. */
  add(modelId: string, tokenizer: Tokenizer | undefined): void {
    this.tokenizers.set(modelId, Promise.resolve(tokenizer));
  }

  async of(modelId: string): Promise<Texts> {
    let found = this.tokenizers.get(modelId);
    if (!found) {
      found = resolveModel(modelId, { offline: true }).then(
        (resolved) => (resolved.files.tokenizer ? loadTokenizer(resolved.files.tokenizer) : undefined),
        () => undefined,
      );
      this.tokenizers.set(modelId, found);
    }
    const tokenizer = await found;
    if (!tokenizer) return idsOnly;
    return { text: (ids) => tokenizer.decode([...ids]), token: (id) => tokenizer.decodeToken(id) };
  }
}
