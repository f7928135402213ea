export interface EncodeOptions {
  /** Prepend the BOS token; defaults to `addsBosByDefault`. */
  bos?: boolean;
}

export interface Tokenizer {
  encode(text: string, opts?: EncodeOptions): number[];
  decode(ids: number[]): string;
  /** The text of a single token, for display. */
  decodeToken(id: number): string;
  readonly vocabSize: number;
  readonly bosId?: number;
  readonly eosId?: number;
  /** Ids that never stand for text (BOS, EOS, padding, unknown, ...). */
  readonly specialIds: number[];
  /** Whether the model was trained with a BOS token in front of every sequence. */
  readonly addsBosByDefault: boolean;
}
