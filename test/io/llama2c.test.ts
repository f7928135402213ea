import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CorruptFileError } from '../../src/io/errors.ts';
import { readLlama2c } from '../../src/io/llama2c.ts';
import { readSafetensors } from '../../src/io/safetensors.ts';
import type { HostTensor } from '../../src/io/tensors.ts';

const models = process.env.REVERIE_MODEL_PATH ?? '../shared/models';
const binPath = join(models, 'karpathy/tinyllamas/stories260K/stories260K.bin');
const ckpt = readLlama2c(binPath);
const hf = readSafetensors('../shared/fixtures/stories260K-hf/model.safetensors');
const reference = JSON.parse(readFileSync('../shared/reference/stories260K.json', 'utf8')) as {
  config: {
    dim: number;
    hid: number;
    nl: number;
    nh: number;
    nkv: number;
    vs: number;
    sl: number;
    hs: number;
    kvd: number;
    shared: boolean;
  };
};
const tmp = mkdtempSync(join(tmpdir(), 'reverie-l2c-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** HF's convert_llama_weights_to_hf permute: w.view(h, d1/h/2, 2, d2).transpose(1, 2).reshape(d1, d2). */
function permute(w: HostTensor, heads: number): Float32Array {
  const [rows, cols] = w.shape as [number, number];
  const half = rows / heads / 2;
  const out = new Float32Array(rows * cols);
  for (let h = 0; h < heads; h++)
    for (let j = 0; j < 2; j++)
      for (let i = 0; i < half; i++) {
        const from = (h * half * 2 + i * 2 + j) * cols;
        const to = (h * half * 2 + j * half + i) * cols;
        out.set(w.data.subarray(from, from + cols), to);
      }
  return out;
}

describe('the llama2.c checkpoint reader', () => {
  it('reads the stories260K header as the reference config', () => {
    const c = reference.config;
    expect(ckpt.header).toEqual({
      dim: c.dim,
      hiddenDim: c.hid,
      nLayers: c.nl,
      nHeads: c.nh,
      nKvHeads: c.nkv,
      vocabSize: c.vs,
      seqLen: c.sl,
      sharedClassifier: c.shared,
    });
    expect(ckpt.config).toMatchObject({
      arch: 'llama',
      vocabSize: 512,
      hidden: 64,
      layers: 5,
      heads: 8,
      kvHeads: 4,
      headDim: c.hs,
      intermediate: 172,
      maxPositions: 512,
      rope: 'interleaved',
      rmsNormEps: 1e-5,
      ropeTheta: 10000,
      tiedEmbeddings: true,
    });
  });

  it('names its tensors as Hugging Face Llama does, with the same shapes as the converted fixture', () => {
    expect(ckpt.weights.names().sort()).toEqual(hf.names().sort());
    for (const name of hf.names()) expect(ckpt.weights.get(name)!.shape, name).toEqual(hf.get(name)!.shape);
    expect(ckpt.weights.get('model.layers.0.self_attn.k_proj.weight')!.shape).toEqual([
      reference.config.kvd,
      64,
    ]);
    expect(ckpt.weights.names()).not.toContain('lm_head.weight');
  });

  it('holds exactly the fixture values for embeddings, norms, v/o projections and the MLP', () => {
    const same = hf.names().filter((n) => !/[qk]_proj/.test(n));
    expect(same.length).toBe(1 + 1 + 5 * 7);
    for (const name of same) expect(ckpt.weights.get(name)!.data, name).toEqual(hf.get(name)!.data);
  });

  it('keeps q and k in interleaved order: the HF rotate-half permutation maps them onto the fixture', () => {
    for (let i = 0; i < 5; i++) {
      const q = ckpt.weights.get(`model.layers.${i}.self_attn.q_proj.weight`)!;
      const k = ckpt.weights.get(`model.layers.${i}.self_attn.k_proj.weight`)!;
      expect(q.data).not.toEqual(hf.get(`model.layers.${i}.self_attn.q_proj.weight`)!.data);
      expect(permute(q, 8)).toEqual(hf.get(`model.layers.${i}.self_attn.q_proj.weight`)!.data);
      expect(permute(k, 4)).toEqual(hf.get(`model.layers.${i}.self_attn.k_proj.weight`)!.data);
    }
  });

  it('reads an unshared classifier from the end when vocab_size is negative', () => {
    const bytes = new Uint8Array(readFileSync(binPath));
    const view = new DataView(bytes.buffer);
    view.setInt32(20, -512, true);
    const extra = Float32Array.from({ length: 512 * 64 }, (_, i) => i);
    const path = join(tmp, 'unshared.bin');
    writeFileSync(path, Buffer.concat([bytes, new Uint8Array(extra.buffer)]));
    const unshared = readLlama2c(path);
    expect(unshared.config.tiedEmbeddings).toBe(false);
    expect(unshared.weights.get('lm_head.weight')!.data).toEqual(extra);
  });
});

describe('a bad llama2.c checkpoint', () => {
  it('that is truncated is a CorruptFileError giving both sizes', () => {
    const path = join(tmp, 'truncated.bin');
    writeFileSync(path, readFileSync(binPath).subarray(0, 100_000));
    expect(() => readLlama2c(path)).toThrow(CorruptFileError);
    expect(() => readLlama2c(path)).toThrow(/implies 1056540 bytes, but the file has 100000/);
  });

  it('with trailing bytes is a CorruptFileError', () => {
    const path = join(tmp, 'long.bin');
    writeFileSync(path, Buffer.concat([readFileSync(binPath), new Uint8Array(4)]));
    expect(() => readLlama2c(path)).toThrow(/implies 1056540 bytes, but the file has 1056544/);
  });

  it('shorter than its header is a CorruptFileError', () => {
    const path = join(tmp, 'header.bin');
    writeFileSync(path, new Uint8Array(10));
    expect(() => readLlama2c(path)).toThrow(/10 bytes, shorter than the 28-byte llama2.c header/);
  });

  it('with an impossible header is a CorruptFileError', () => {
    const path = join(tmp, 'zero.bin');
    writeFileSync(path, new Uint8Array(new Int32Array([64, 172, 0, 8, 4, 512, 512]).buffer));
    expect(() => readLlama2c(path)).toThrow(/nLayers is 0; expected a positive integer/);
  });

  it('in the newer export format is rejected by name', () => {
    const path = join(tmp, 'v1.bin');
    writeFileSync(path, new Uint8Array(new Int32Array([0x616b3432, 1, 0, 0, 0, 0, 0, 0]).buffer));
    expect(() => readLlama2c(path)).toThrow(/export version 1 is not supported/);
  });
});
