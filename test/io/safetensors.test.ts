import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { memoryBytes } from '../../src/io/bytes.ts';
import { CorruptFileError, UnsupportedDtypeError } from '../../src/io/errors.ts';
import {
  SafetensorsFile,
  encodeSafetensors,
  openSafetensors,
  readSafetensors,
  writeSafetensors,
} from '../../src/io/safetensors.ts';

const tmp = mkdtempSync(join(tmpdir(), 'reverie-st-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const tensor = (shape: number[], start = 0) => ({
  shape,
  data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => start + i / 4),
});

/** A hand-built file: `header` verbatim, then `dataBytes` bytes of data. */
function rawFile(name: string, header: unknown, dataBytes: number, headerLength?: number): string {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + dataBytes);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLength ?? json.length), true);
  out.set(json, 8);
  const path = join(tmp, name);
  writeFileSync(path, out);
  return path;
}

function halfBytes(bits: number[]): Uint8Array {
  return new Uint8Array(Uint16Array.from(bits).buffer);
}

describe('the safetensors reader', () => {
  it('reads every tensor of a fixture with its shape', () => {
    const st = readSafetensors('../shared/fixtures/gpt2-tiny-random/model.safetensors');
    expect(st.names()).toContain('transformer.wte.weight');
    const wte = st.get('transformer.wte.weight')!;
    expect(wte.shape).toEqual([512, 64]);
    expect(wte.data.length).toBe(512 * 64);
    expect(st.get('no.such.tensor')).toBeUndefined();
  });

  it('round-trips what writeSafetensors wrote, with metadata', () => {
    const path = join(tmp, 'roundtrip.safetensors');
    writeSafetensors(path, { a: tensor([2, 3]), b: tensor([4], 7) }, { format: 'pt' });
    const st = readSafetensors(path);
    expect(st.names()).toEqual(['a', 'b']);
    expect(st.metadata).toEqual({ format: 'pt' });
    expect(Array.from(st.get('a')!.data)).toEqual(Array.from(tensor([2, 3]).data));
    expect(st.get('b')!.shape).toEqual([4]);
  });

  it('returns float32 data as views onto an in-memory buffer when aligned', () => {
    const bytes = encodeSafetensors({ a: tensor([8]) });
    const t = SafetensorsFile.open(memoryBytes(bytes)).get('a')!;
    expect(t.data.buffer).toBe(bytes.buffer);
  });

  it('copies float32 data that is not 4-byte aligned', () => {
    const bytes = encodeSafetensors({ a: tensor([8]) });
    const shifted = new Uint8Array(bytes.length + 1).subarray(1);
    shifted.set(bytes);
    const t = SafetensorsFile.open(memoryBytes(shifted)).get('a')!;
    expect(Array.from(t.data)).toEqual(Array.from(tensor([8]).data));
  });

  it('converts float16 and bfloat16 to float32', () => {
    // f16: 1.0 = 0x3c00, -2.0 = 0xc000, 65504 = 0x7bff, smallest subnormal 0x0001 = 2^-24.
    // bf16: the top 16 bits of a float32; 1.5 = 0x3fc0, -0.5 = 0xbf00.
    const f16 = halfBytes([0x3c00, 0xc000, 0x7bff, 0x0001]);
    const bf16 = halfBytes([0x3fc0, 0xbf00]);
    const header = {
      h: { dtype: 'F16', shape: [4], data_offsets: [0, 8] },
      b: { dtype: 'BF16', shape: [2], data_offsets: [8, 12] },
    };
    const path = rawFile('half.safetensors', header, 12);
    const bytes = readFileSync(path);
    bytes.set(f16, bytes.length - 12);
    bytes.set(bf16, bytes.length - 4);
    writeFileSync(path, bytes);
    const st = readSafetensors(path);
    expect(Array.from(st.get('h')!.data)).toEqual([1, -2, 65504, 2 ** -24]);
    expect(Array.from(st.get('b')!.data)).toEqual([1.5, -0.5]);
  });

  it('reads a sharded checkpoint through its index', () => {
    const dir = mkdtempSync(join(tmp, 'sharded-'));
    writeSafetensors(join(dir, 'model-00001-of-00002.safetensors'), { a: tensor([2]) });
    writeSafetensors(join(dir, 'model-00002-of-00002.safetensors'), { b: tensor([3], 1) });
    const weightMap = { a: 'model-00001-of-00002.safetensors', b: 'model-00002-of-00002.safetensors' };
    writeFileSync(
      join(dir, 'model.safetensors.index.json'),
      JSON.stringify({ metadata: {}, weight_map: weightMap }),
    );
    const ws = openSafetensors(dir);
    expect(ws.names().sort()).toEqual(['a', 'b']);
    expect(Array.from(ws.get('b')!.data)).toEqual([1, 1.25, 1.5]);
  });
});

describe('a corrupt safetensors file', () => {
  it('whose header length runs beyond the file is a CorruptFileError', () => {
    const path = rawFile(
      'trunc-header.safetensors',
      { a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } },
      4,
      1e6,
    );
    expect(() => readSafetensors(path)).toThrow(CorruptFileError);
    expect(() => readSafetensors(path)).toThrow(/header length is 1000000 bytes but only \d+ bytes follow/);
  });

  it('shorter than 8 bytes is a CorruptFileError', () => {
    const path = join(tmp, 'tiny.safetensors');
    writeFileSync(path, new Uint8Array(3));
    expect(() => readSafetensors(path)).toThrow(/3 bytes, shorter than the 8-byte header length/);
  });

  it('whose header is not JSON is a CorruptFileError', () => {
    const path = join(tmp, 'garbage.safetensors');
    const bytes = new Uint8Array(16);
    bytes[0] = 8;
    bytes.fill(0x7b, 8);
    writeFileSync(path, bytes);
    expect(() => readSafetensors(path)).toThrow(/header is not valid UTF-8 JSON/);
  });

  it('whose data offsets run past the data section is a CorruptFileError', () => {
    const path = rawFile(
      'offsets.safetensors',
      { a: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } },
      8,
    );
    expect(() => readSafetensors(path)).toThrow(CorruptFileError);
    expect(() => readSafetensors(path)).toThrow(
      /data_offsets \[0, 16\] out of range of the 8-byte data section/,
    );
  });

  it('truncated in the middle of its data is a CorruptFileError', () => {
    const full = encodeSafetensors({ a: tensor([16]) });
    const path = join(tmp, 'cut.safetensors');
    writeFileSync(path, full.subarray(0, full.length - 10));
    expect(() => readSafetensors(path)).toThrow(/out of range/);
  });

  it('whose shape disagrees with its byte size is a CorruptFileError naming both', () => {
    const path = rawFile(
      'shape.safetensors',
      { a: { dtype: 'F32', shape: [2, 3], data_offsets: [0, 16] } },
      16,
    );
    expect(() => readSafetensors(path)).toThrow(CorruptFileError);
    expect(() => readSafetensors(path)).toThrow(
      /shape \[2, 3\] and dtype F32 needs 24 bytes, but its data_offsets span 16/,
    );
  });

  it('with a dtype the format does not define is a CorruptFileError', () => {
    const path = rawFile(
      'baddtype.safetensors',
      { a: { dtype: 'F31', shape: [1], data_offsets: [0, 4] } },
      4,
    );
    expect(() => readSafetensors(path)).toThrow(/unknown dtype "F31"/);
  });

  it('with a non-float dtype opens, but reading that tensor is an UnsupportedDtypeError naming it', () => {
    const path = rawFile('int.safetensors', { ids: { dtype: 'I64', shape: [2], data_offsets: [0, 16] } }, 16);
    const st = readSafetensors(path);
    expect(st.names()).toEqual(['ids']);
    expect(() => st.get('ids')).toThrow(UnsupportedDtypeError);
    expect(() => st.get('ids')).toThrow(/tensor 'ids' has dtype I64; expected one of F32, F16, BF16/);
  });

  it('whose index points at a missing shard is a CorruptFileError', () => {
    const dir = mkdtempSync(join(tmp, 'noshard-'));
    writeFileSync(
      join(dir, 'model.safetensors.index.json'),
      JSON.stringify({ weight_map: { a: 'gone.safetensors' } }),
    );
    expect(() => openSafetensors(dir)).toThrow(/shard gone\.safetensors is missing/);
  });
});
