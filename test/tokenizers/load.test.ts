import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ModelNotFoundError } from '../../src/io/errors.ts';
import { HfTokenizer } from '../../src/tokenizers/hf.ts';
import { Llama2cTokenizer } from '../../src/tokenizers/llama2c.ts';
import { loadTokenizer } from '../../src/tokenizers/load.ts';

const models = process.env.REVERIE_MODEL_PATH ?? '../shared/models';

describe('loadTokenizer', () => {
  it('picks tokenizer.json in a Hugging Face directory', () => {
    expect(loadTokenizer(join(models, 'openai-community/gpt2'))).toBeInstanceOf(HfTokenizer);
  });

  it('picks tok*.bin in a llama2.c directory', () => {
    const tok = loadTokenizer(join(models, 'karpathy/tinyllamas/stories260K'));
    expect(tok).toBeInstanceOf(Llama2cTokenizer);
    expect(tok.vocabSize).toBe(512);
  });

  it('loads a file by its extension', () => {
    expect(loadTokenizer(join(models, 'karpathy/llama2.c/tokenizer.bin')).vocabSize).toBe(32000);
    expect(loadTokenizer(join(models, 'EleutherAI/gpt-neox-20b/tokenizer.json'))).toBeInstanceOf(HfTokenizer);
  });

  it('says where it looked when a directory has no tokenizer', () => {
    expect(() => loadTokenizer('../shared/fixtures/gpt2-tiny-random')).toThrow(ModelNotFoundError);
    expect(() => loadTokenizer('../shared/fixtures/gpt2-tiny-random')).toThrow(/tokenizer\.json/);
  });
});
