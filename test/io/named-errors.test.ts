import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readDirectionFile } from '../../src/io/direction.ts';
import { ConfigError, CorruptFileError, UnreadableFileError } from '../../src/io/errors.ts';
import { readHfConfig } from '../../src/io/hf-config.ts';
import { readSaeFeature } from '../../src/io/sae.ts';
import { writeSafetensors } from '../../src/io/safetensors.ts';
import { HfTokenizer } from '../../src/tokenizers/hf.ts';
import { loadTokenizer } from '../../src/tokenizers/load.ts';
import { Llama2cTokenizer } from '../../src/tokenizers/llama2c.ts';
import { namedError, scratch, put } from './corrupt.ts';

const tmp = scratch('named');
const fifo = join(tmp, 'fifo.json');
execFileSync('mkfifo', [fifo]);

const text = (name: string, content: string) => put(join(tmp, name), content);

describe('a file that cannot be read', () => {
  it.each([
    ['missing', join(tmp, 'missing.json'), 'does not exist'],
    ['a directory', tmp, 'is a directory, not a file'],
    ['a FIFO (reading it would block)', fifo, 'is not a regular file'],
    ['a device (reading it would never end)', '/dev/zero', 'is not a regular file'],
  ])('because it is %s is an UnreadableFileError naming it, from every JSON loader', (_, path, problem) => {
    for (const load of [readHfConfig, readDirectionFile, (p: string) => HfTokenizer.read(p)]) {
      const error = namedError(() => load(path), path);
      expect(error).toBeInstanceOf(UnreadableFileError);
      expect(error.message).toBe(`${path}: ${problem}`);
    }
    expect(namedError(() => Llama2cTokenizer.read(path), path)).toBeInstanceOf(UnreadableFileError);
  });
});

describe('a JSON file that does not parse', () => {
  it('is a CorruptFileError saying where it breaks, without quoting it', () => {
    const path = text('broken.json', '{\n  "a": 1,\n  b: 2\n}');
    const error = namedError(() => readHfConfig(path), path);
    expect(error).toBeInstanceOf(CorruptFileError);
    expect(error.message).toBe(`${path}: is not valid JSON (line 3, column 3)`);
  });

  it('says so when it is cut short or empty', () => {
    const cut = text('cut.json', '{"a": ');
    expect(namedError(() => readHfConfig(cut), cut).message).toBe(
      `${cut}: is not valid JSON (it ends before the value is complete)`,
    );
    const empty = text('empty.json', ' \n');
    expect(namedError(() => readHfConfig(empty), empty).message).toBe(`${empty}: is empty; expected JSON`);
  });
});

describe('a direction file', () => {
  it('that is not JSON is named, and its contents are never echoed', () => {
    const path = text('passwd', 'root:x:0:0:root:/root:/bin/bash\nsecret-token-123\n');
    const error = namedError(() => readDirectionFile(path), path);
    expect(error).toBeInstanceOf(CorruptFileError);
    expect(error.message).toBe(`${path}: is not valid JSON`);
    expect(error.message).not.toMatch(/root|secret|bash/);
  });

  it('that holds JSON of another shape is named, without its contents', () => {
    for (const [content, problem] of [
      ['{"secret": [1, 2]}', 'expected a direction: a non-empty JSON array of finite numbers'],
      ['[]', 'expected a direction: a non-empty JSON array of finite numbers'],
      ['[1, "secret", 3]', 'entry 1 of the direction is not a finite number'],
      ['[1, 2, 1e999]', 'entry 2 of the direction is not a finite number'],
    ] as const) {
      const path = text('shape.json', content);
      expect(namedError(() => readDirectionFile(path), path).message).toBe(`${path}: ${problem}`);
    }
  });

  it('that is a JSON array of numbers is read', () => {
    expect(readDirectionFile(text('ok.json', '[1, -2.5, 0]'))).toEqual([1, -2.5, 0]);
  });
});

describe('a SAELens folder', () => {
  const dIn = 4;
  const dSae = 3;
  /** A folder with `cfg` as cfg.json and W_enc, b_enc, b_dec of the given shapes. */
  function sae(cfg: unknown, shapes: Record<string, readonly number[]> = {}): string {
    const dir = mkdtempSync(join(tmp, 'sae-'));
    const tensor = (shape: readonly number[]) => ({
      shape: [...shape],
      data: new Float32Array(shape.reduce((a, b) => a * b, 1)),
    });
    const all = { W_enc: [dIn, dSae], b_enc: [dSae], b_dec: [dIn], ...shapes };
    writeSafetensors(
      join(dir, 'sae_weights.safetensors'),
      Object.fromEntries(Object.entries(all).map(([n, s]) => [n, tensor(s)])),
    );
    if (cfg !== undefined) put(join(dir, 'cfg.json'), cfg);
    return dir;
  }
  const good = { hook_name: 'blocks.0.hook_resid_pre', d_in: dIn, d_sae: dSae, apply_b_dec_to_input: true };

  it('reads its feature', () => {
    expect(readSaeFeature(sae(good), 2)).toMatchObject({ hook: good.hook_name, dIn, dSae, bias: 0 });
  });

  it('whose cfg.json is unreadable, not JSON or not an object is named', () => {
    const noCfg = sae(undefined);
    mkdirSync(join(noCfg, 'cfg.json'));
    expect(namedError(() => readSaeFeature(noCfg, 0), join(noCfg, 'cfg.json'))).toBeInstanceOf(
      UnreadableFileError,
    );
    const notJson = sae('{hook_name: 1');
    expect(namedError(() => readSaeFeature(notJson, 0), join(notJson, 'cfg.json'))).toBeInstanceOf(
      CorruptFileError,
    );
    const array = sae([good]);
    expect(namedError(() => readSaeFeature(array, 0), join(array, 'cfg.json'))).toBeInstanceOf(ConfigError);
  });

  it('whose cfg.json fields have the wrong type or value is a ConfigError naming file and field', () => {
    for (const [edit, field] of [
      [{ hook_name: 7 }, 'hook_name'],
      [{ d_in: '4' }, 'd_in'],
      [{ d_sae: -3 }, 'd_sae'],
      [{ normalize_activations: 'expected_average_only_in' }, 'normalize_activations'],
    ] as const) {
      const dir = sae({ ...good, ...edit });
      const error = namedError(() => readSaeFeature(dir, 0), join(dir, 'cfg.json'));
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).field).toBe(field);
    }
  });

  it('whose weights disagree with cfg.json or with each other is a CorruptFileError naming the tensor', () => {
    for (const [cfg, shapes, message] of [
      [{ ...good, d_in: 5 }, {}, 'tensor W_enc is [4, 3]; expected [5, 3]'],
      [good, { W_enc: [dIn, dSae, 1] }, 'tensor W_enc is [4, 3, 1]; expected [4, 3]'],
      [good, { b_enc: [dSae - 1] }, 'tensor b_enc is [2]; expected [3]'],
      [good, { b_dec: [dIn + 1] }, 'tensor b_dec is [5]; expected [4]'],
    ] as const) {
      const dir = sae(cfg, shapes);
      const error = namedError(() => readSaeFeature(dir, 0), join(dir, 'sae_weights.safetensors'));
      expect(error).toBeInstanceOf(CorruptFileError);
      expect(error.message).toContain(message);
    }
  });

  it('whose weights file is corrupt is a CorruptFileError naming it', () => {
    const dir = sae(good);
    writeFileSync(join(dir, 'sae_weights.safetensors'), 'not a safetensors file at all');
    expect(namedError(() => readSaeFeature(dir, 0), join(dir, 'sae_weights.safetensors'))).toBeInstanceOf(
      CorruptFileError,
    );
  });
});

describe('a tokenizer.json', () => {
  it.each([
    ['an array', '[]'],
    ['an object without a model', '{}'],
    ['a model of no known type', '{"model": {"type": "Foo"}, "added_tokens": []}'],
    ['a BPE model whose vocabulary is a number', '{"model": {"type": "BPE", "vocab": 5, "merges": []}}'],
  ])('that is %s is a CorruptFileError naming it', (_, content) => {
    const dir = mkdtempSync(join(tmp, 'tok-'));
    const path = put(join(dir, 'tokenizer.json'), content);
    expect(namedError(() => loadTokenizer(path), path)).toBeInstanceOf(CorruptFileError);
    expect(namedError(() => loadTokenizer(dir), path)).toBeInstanceOf(CorruptFileError);
  });

  it('beside a tokenizer_config.json that is not an object is a CorruptFileError naming that file', () => {
    const dir = mkdtempSync(join(tmp, 'tokcfg-'));
    const config = put(join(dir, 'tokenizer_config.json'), '["<s>"]');
    put(join(dir, 'tokenizer.json'), '{}');
    expect(namedError(() => loadTokenizer(dir), config).message).toBe(`${config}: expected a JSON object`);
  });
});
