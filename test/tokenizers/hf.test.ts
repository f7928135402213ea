import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HfTokenizer } from '../../src/tokenizers/hf.ts';

const models = process.env.REVERIE_MODEL_PATH ?? '../shared/models';
const gpt2 = HfTokenizer.read(join(models, 'openai-community/gpt2/tokenizer.json'));
const neox = HfTokenizer.read(join(models, 'EleutherAI/gpt-neox-20b/tokenizer.json'));

const edgeCases = [
  'Hello world',
  ' leading space',
  'trailing space ',
  '   multiple   spaces   ',
  'line one\nline two\n\n\nthree newlines',
  'windows\r\nline endings\r\n',
  '\ttabs\tand\t\ttabs',
  'naïve café, déjà vu',
  'precomposed é and combining e\u0301 and x\u0301',
  '日本語の文章と中文',
  'emoji 😀🎉 and a family 👩‍👩‍👧',
  'digits 0123456789 and 3.14159 and 12345678901234567890',
  'punctuation: ([{<>}]) !?.,;:\'"-_/\\|@#$%^&*+=~`',
  "it's, they're, I'll, we've",
  '',
];

describe('the Hugging Face tokenizer', () => {
  it('encodes "Hello world" as the known GPT-2 ids', () => {
    expect(gpt2.encode('Hello world')).toEqual([15496, 995]);
    expect(gpt2.encode(' Hello')).toEqual([18435]);
    expect(gpt2.decode([15496, 995])).toBe('Hello world');
  });

  it('round-trips every edge case through GPT-2 exactly', () => {
    for (const s of edgeCases) expect(gpt2.decode(gpt2.encode(s)), JSON.stringify(s)).toBe(s);
  });

  it('round-trips every edge case through GPT-NeoX up to its NFC normalizer', () => {
    for (const s of edgeCases) {
      expect(neox.decode(neox.encode(s)), JSON.stringify(s)).toBe(s.normalize('NFC'));
    }
    // A combining accent with no precomposed form survives NFC unchanged.
    expect(neox.decode(neox.encode('x\u0301'))).toBe('x\u0301');
  });

  it('reports vocabulary sizes including added tokens', () => {
    expect(gpt2.vocabSize).toBe(50257);
    expect(neox.vocabSize).toBe(50277);
  });

  it('takes special ids from the added tokens marked special', () => {
    expect(gpt2.specialIds).toEqual([50256]);
    expect(neox.specialIds).toEqual([0, 1]);
    expect(gpt2.eosId).toBe(50256);
    expect(neox.eosId).toBe(0);
  });

  it('does not add BOS by default for GPT-2 and GPT-NeoX, but prepends <|endoftext|> when asked', () => {
    expect(gpt2.addsBosByDefault).toBe(false);
    expect(neox.addsBosByDefault).toBe(false);
    expect(gpt2.encode('Hello world', { bos: true })).toEqual([50256, 15496, 995]);
    expect(neox.encode('Hello', { bos: true })[0]).toBe(0);
  });

  it('shows single tokens, falling back to the vocabulary entry for partial UTF-8', () => {
    expect(gpt2.decodeToken(995)).toBe(' world');
    expect(gpt2.decodeToken(50256)).toBe('<|endoftext|>');
    const [first] = gpt2.encode('😀');
    expect(gpt2.decodeToken(first!)).not.toContain('\uFFFD');
    expect(() => gpt2.decodeToken(50257)).toThrow(RangeError);
  });
});
