import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Tokenizer as HfTokenizerImpl } from '@huggingface/tokenizers';
import { CorruptFileError } from '../io/errors.ts';
import { readJsonFile } from '../io/files.ts';
import type { EncodeOptions, Tokenizer } from './tokenizer.ts';

const BOS_NAMES = ['<s>', '<|begin_of_text|>', '<bos>', '<|endoftext|>'];
const EOS_NAMES = ['</s>', '<|end_of_text|>', '<eos>', '<|endoftext|>'];

/** A `tokenizer.json` (with the `tokenizer_config.json` beside it, if any) via @huggingface/tokenizers. */
export class HfTokenizer implements Tokenizer {
  readonly vocabSize: number;
  readonly specialIds: number[];
  readonly addsBosByDefault: boolean;
  readonly bosId?: number;
  readonly eosId?: number;

  constructor(
    private readonly impl: HfTokenizerImpl,
    config: Record<string, unknown> = {},
  ) {
    const vocab = impl.get_vocab(true);
    this.vocabSize = Math.max(-1, ...vocab.values()) + 1;
    const added = [...impl.get_added_tokens_decoder().values()];
    this.specialIds = added
      .filter((t) => t.special)
      .map((t) => t.id)
      .sort((a, b) => a - b);
    const specialId = (names: string[]) =>
      names.map((n) => added.find((t) => t.special && t.content === n)?.id).find((id) => id !== undefined);
    const configured = (key: string) => {
      const v = config[key];
      const content = typeof v === 'object' && v !== null ? (v as { content?: unknown }).content : v;
      return typeof content === 'string' ? impl.token_to_id(content) : undefined;
    };
    // The post-processor adds BOS when encoding with special tokens puts an extra id in front.
    const plain = impl.encode('a', { add_special_tokens: false }).ids;
    const full = impl.encode('a', { add_special_tokens: true }).ids;
    this.addsBosByDefault = full.length > plain.length && full[0] !== plain[0];
    this.bosId = this.addsBosByDefault ? full[0] : (configured('bos_token') ?? specialId(BOS_NAMES));
    this.eosId = configured('eos_token') ?? specialId(EOS_NAMES);
  }

  /** A wrong structure is a CorruptFileError naming the file: @huggingface/tokenizers throws plain errors. */
  static read(path: string): HfTokenizer {
    const json = readObject(path);
    const configPath = join(dirname(path), 'tokenizer_config.json');
    const config = existsSync(configPath) ? readObject(configPath) : {};
    try {
      return new HfTokenizer(new HfTokenizerImpl(json, config), config);
    } catch (error) {
      throw new CorruptFileError(
        path,
        `is not a tokenizer @huggingface/tokenizers can read: ${(error as Error).message}`,
      );
    }
  }

  encode(text: string, opts: EncodeOptions = {}): number[] {
    const ids = this.impl.encode(text, { add_special_tokens: false }).ids;
    return (opts.bos ?? this.addsBosByDefault) && this.bosId !== undefined ? [this.bosId, ...ids] : ids;
  }

  decode(ids: number[]): string {
    for (const id of ids) this.check(id);
    if (ids.length === 0) return '';
    return this.impl.decode(ids, { skip_special_tokens: false, clean_up_tokenization_spaces: false });
  }

  /** The token's text; its raw vocabulary entry when it is a partial UTF-8 sequence. */
  decodeToken(id: number): string {
    const text = this.decode([id]);
    return text.includes('\uFFFD') ? (this.impl.id_to_token(id) ?? text) : text;
  }

  private check(id: number): void {
    if (!(Number.isInteger(id) && id >= 0 && id < this.vocabSize)) {
      throw new RangeError(`token id ${id} is outside the vocabulary [0, ${this.vocabSize})`);
    }
  }
}

function readObject(path: string): Record<string, unknown> {
  const json = readJsonFile(path);
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    throw new CorruptFileError(path, 'expected a JSON object');
  return json as Record<string, unknown>;
}
