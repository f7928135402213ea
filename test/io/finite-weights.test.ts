import { copyFileSync, openSync, closeSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CorruptFileError } from '../../src/io/errors.ts';
import { readLlama2c } from '../../src/io/llama2c.ts';
import { readSafetensors } from '../../src/io/safetensors.ts';
import { loadModel } from '../../src/models/index.ts';
import { copyFixture, namedRejection, scratch, stories260K } from './corrupt.ts';

const tmp = scratch('finite');

/** Overwrites the float32 at `byte` of `path` with `value`. */
function poke(path: string, byte: number, value: number): void {
  const fd = openSync(path, 'r+');
  writeSync(fd, new Uint8Array(Float32Array.of(value).buffer), 0, 4, byte);
  closeSync(fd);
}

/** A copy of a fixture whose tensor `name` holds `value` at flat index `at`. */
function fixtureWith(fixture: string, name: string, at: number, value: number): string {
  const dir = copyFixture(fixture, tmp);
  const file = join(dir, 'model.safetensors');
  poke(file, readSafetensors(file).info(name)!.begin + 4 * at, value);
  return dir;
}

describe('a checkpoint holding NaN or ±Inf', () => {
  it.each([
    [NaN, 'NaN'],
    [Infinity, 'Infinity'],
    [-Infinity, '-Infinity'],
  ])('holding %s is refused at load, naming the file, the tensor and where', async (value, printed) => {
    const dir = fixtureWith('llama-tiny-random', 'model.layers.1.mlp.up_proj.weight', 64 * 3 + 5, value);
    const error = await namedRejection(loadModel(dir), join(dir, 'model.safetensors'));
    expect(error).toBeInstanceOf(CorruptFileError);
    expect(error.message).toContain(
      `tensor 'model.layers.1.mlp.up_proj.weight' [128, 64] holds ${printed} at [3, 5]; expected finite weights`,
    );
  });

  it('counts the other non-finite values of the tensor', async () => {
    const dir = fixtureWith('gpt2-tiny-random', 'transformer.ln_f.weight', 7, NaN);
    poke(
      join(dir, 'model.safetensors'),
      readSafetensors(join(dir, 'model.safetensors')).info('transformer.ln_f.weight')!.begin + 4 * 9,
      Infinity,
    );
    const error = await namedRejection(loadModel(dir), 'model.safetensors');
    expect(error.message).toContain(
      "tensor 'transformer.ln_f.weight' [64] holds NaN at [7] and 1 more non-finite values",
    );
  });

  it('is refused in a llama2.c checkpoint too', () => {
    const path = join(tmp, 'inf.bin');
    copyFileSync(stories260K, path);
    poke(path, 28 + 4 * (64 * 2 + 1), Infinity);
    const weights = readLlama2c(path).weights;
    expect(() => weights.get('model.embed_tokens.weight')).toThrow(CorruptFileError);
    expect(() => weights.get('model.embed_tokens.weight')).toThrow(
      `${path}: tensor 'model.embed_tokens.weight' [512, 64] holds Infinity at [2, 1]`,
    );
  });

  it('is not confused with the largest finite float32 values, -0 or subnormals', () => {
    const dir = fixtureWith('llama-tiny-random', 'model.norm.weight', 0, 3.4028234663852886e38);
    const file = join(dir, 'model.safetensors');
    const begin = readSafetensors(file).info('model.norm.weight')!.begin;
    poke(file, begin + 4, -3.4028234663852886e38);
    poke(file, begin + 8, -0);
    poke(file, begin + 12, 1e-45);
    expect(Array.from(readSafetensors(file).get('model.norm.weight')!.data.subarray(0, 4))).toEqual([
      3.4028234663852886e38, -3.4028234663852886e38, -0, 1.401298464324817e-45,
    ]);
  });
});
