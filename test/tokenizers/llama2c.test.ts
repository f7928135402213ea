import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CorruptFileError } from '../../src/io/errors.ts';
import { Llama2cTokenizer } from '../../src/tokenizers/llama2c.ts';

const models = process.env.REVERIE_MODEL_PATH ?? '../shared/models';
const tok512 = Llama2cTokenizer.read(join(models, 'karpathy/tinyllamas/stories260K/tok512.bin'));
const tok32k = Llama2cTokenizer.read(join(models, 'karpathy/llama2.c/tokenizer.bin'));
const reference = JSON.parse(readFileSync('../shared/reference/stories260K.json', 'utf8')) as {
  tok512_encodings_with_bos: Record<string, number[]>;
  greedy_from_bos_ids: number[];
};

/** A literal port of run.c encode() (quadratic merge loop), from an independent parse of the file. */
function runCEncode(path: string, text: string): number[] {
  const bytes = readFileSync(path);
  const vocab: string[] = [];
  const scores: number[] = [];
  for (let at = 4; at < bytes.length;) {
    const len = bytes.readInt32LE(at + 4);
    scores.push(bytes.readFloatLE(at));
    vocab.push(bytes.subarray(at + 8, at + 8 + len).toString('latin1'));
    at += 8 + len;
  }
  const ids = new Map(vocab.map((piece, id) => [piece, id]));
  const lookup = (s: string) => ids.get(s) ?? -1;
  const tokens = [1];
  const utf8 = Buffer.from(text, 'utf8');
  if (utf8.length > 0) tokens.push(lookup(' '));
  let buf = '';
  for (let i = 0; i < utf8.length; i++) {
    if ((utf8[i]! & 0xc0) !== 0x80) buf = '';
    buf += String.fromCharCode(utf8[i]!);
    if (((utf8[i + 1] ?? 0) & 0xc0) === 0x80 && buf.length < 4) continue;
    const id = lookup(buf);
    if (id !== -1) tokens.push(id);
    else for (const c of buf) tokens.push(c.charCodeAt(0) + 3);
    buf = '';
  }
  for (;;) {
    let [bestScore, bestId, bestIdx] = [-1e10, -1, -1];
    for (let i = 0; i < tokens.length - 1; i++) {
      const id = lookup(vocab[tokens[i]!]! + vocab[tokens[i + 1]!]!);
      if (id !== -1 && scores[id]! > bestScore) [bestScore, bestId, bestIdx] = [scores[id]!, id, i];
    }
    if (bestIdx === -1) return tokens;
    tokens.splice(bestIdx, 2, bestId);
  }
}

const strings = [
  'Once upon a time',
  'Hello, world! 123',
  '  two leading spaces and trailing  ',
  'line one\nline two\r\n\ttabbed',
  'naïve café, déjà vu — “quoted” ‘single’',
  'e\u0301 combining, 日本語の文章, 한국어, emoji 😀🎉👩‍👩‍👧',
  'numbers 3.14159 and 1234567890123',
  'punctuation: ([{<>}]) !?.,;:\'"-_/\\|@#$%^&*+=~`',
];

describe('the llama2.c tokenizer', () => {
  it('reads the 512-token vocabulary of stories260K and the 32k Llama 2 vocabulary', () => {
    expect(tok512.vocabSize).toBe(512);
    expect(tok32k.vocabSize).toBe(32000);
    expect(tok512.specialIds).toEqual([0, 1, 2]);
    expect([tok512.bosId, tok512.eosId, tok512.addsBosByDefault]).toEqual([1, 2, true]);
  });

  it('encodes the reference strings exactly as llama2.c does', () => {
    for (const [text, ids] of Object.entries(reference.tok512_encodings_with_bos)) {
      expect(tok512.encode(text), text).toEqual(ids);
      expect(tok512.encode(text, { bos: false }), text).toEqual(ids.slice(1));
    }
  });

  it('merges exactly as run.c does on real text, for both vocabularies', () => {
    const corpus = readFileSync('../shared/corpora/tinyshakespeare/input.txt', 'utf8');
    const texts = [corpus.slice(0, 600), corpus.slice(50_000, 50_400), ...strings];
    for (const [tok, file] of [
      [tok512, 'karpathy/tinyllamas/stories260K/tok512.bin'],
      [tok32k, 'karpathy/llama2.c/tokenizer.bin'],
    ] as const) {
      for (const text of texts) expect(tok.encode(text), text).toEqual(runCEncode(join(models, file), text));
    }
  });

  it('falls back to byte tokens for characters missing from the vocabulary', () => {
    // '語' is not a tok512 piece: its three UTF-8 bytes E8 AA 9E become ids byte + 3.
    expect(tok512.encode('語', { bos: false })).toEqual([
      tok512.encode(' ', { bos: false })[0],
      0xe8 + 3,
      0xaa + 3,
      0x9e + 3,
    ]);
  });

  it('encodes the empty string as BOS alone, without the dummy prefix', () => {
    expect(tok512.encode('')).toEqual([1]);
    expect(tok512.encode('', { bos: false })).toEqual([]);
  });

  it('decodes the reference greedy story to the published text', () => {
    const text = tok512.decode([1, ...reference.greedy_from_bos_ids]);
    expect(text.startsWith('Once upon a time, there was a little girl named Lily.')).toBe(true);
  });

  it('round-trips edge-case strings through both vocabularies', () => {
    for (const tok of [tok512, tok32k]) {
      for (const s of strings) {
        expect(tok.decode(tok.encode(s)), s).toBe(s);
        expect(tok.decode(tok.encode(s, { bos: false })), s).toBe(s);
      }
    }
  });

  it('uses real merges of the 32k vocabulary rather than characters', () => {
    const ids = tok32k.encode('Hello world', { bos: false });
    expect(ids.map((id) => tok32k.decodeToken(id))).toEqual([' Hello', ' world']);
  });

  it('shows single tokens for display, bytes as <0xXX> unless printable', () => {
    expect(tok512.decodeToken(1)).toBe('<s>');
    expect(tok512.decodeToken(0x41 + 3)).toBe('A');
    expect(tok512.decodeToken(0xe8 + 3)).toBe('<0xE8>');
    expect(tok512.decodeToken(403)).toBe(' Once');
    expect(() => tok512.decodeToken(512)).toThrow(RangeError);
  });

  it('rejects a tokenizer file whose record runs past the end', () => {
    const bytes = readFileSync(join(models, 'karpathy/tinyllamas/stories260K/tok512.bin'));
    expect(() => Llama2cTokenizer.parse(bytes.subarray(0, bytes.length - 2), 'cut.bin')).toThrow(
      CorruptFileError,
    );
    expect(() => Llama2cTokenizer.parse(bytes.subarray(0, bytes.length - 2), 'cut.bin')).toThrow(
      /beyond the end/,
    );
  });
});
