import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ModelNotFoundError } from '../io/errors.ts';
import { isLlama2cTokenizerFile } from '../io/llama2c.ts';
import { HfTokenizer } from './hf.ts';
import { Llama2cTokenizer } from './llama2c.ts';
import type { Tokenizer } from './tokenizer.ts';

/** The tokenizer in a file or in a model directory: `tokenizer.json`, else `tokenizer.bin` / `tok*.bin`. */
export function loadTokenizer(path: string): Tokenizer {
  if (!existsSync(path)) throw new ModelNotFoundError(path, [path], 'has no tokenizer');
  if (!statSync(path).isDirectory()) {
    return path.endsWith('.json') ? HfTokenizer.read(path) : Llama2cTokenizer.read(path);
  }
  const json = join(path, 'tokenizer.json');
  if (existsSync(json)) return HfTokenizer.read(json);
  const bins = readdirSync(path).filter(isLlama2cTokenizerFile).sort();
  const bin = bins.includes('tokenizer.bin') ? 'tokenizer.bin' : bins[0];
  if (bin) return Llama2cTokenizer.read(join(path, bin));
  throw new ModelNotFoundError(
    path,
    [json, join(path, 'tokenizer.bin'), join(path, 'tok*.bin')],
    'has no tokenizer',
  );
}
