import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CorruptFileError } from '../../src/io/errors.ts';
import { readSafetensors } from '../../src/io/safetensors.ts';
import { namedError, scratch } from './corrupt.ts';

const tmp = scratch('st-offsets');

/** A file with `header` verbatim and `dataBytes` bytes of data (float32 0, 1, 2, ... where they fit). */
function file(name: string, header: Record<string, unknown>, dataBytes: number): string {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + dataBytes);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  const values = Float32Array.from({ length: dataBytes >> 2 }, (_, i) => i);
  out.set(new Uint8Array(values.buffer), 8 + json.length);
  const path = join(tmp, name);
  writeFileSync(path, out);
  return path;
}

const f32 = (shape: number[], begin: number, end: number) => ({
  dtype: 'F32',
  shape,
  data_offsets: [begin, end],
});

/** The CorruptFileError reading `path` gives, which must name the file. */
const corruption = (path: string) => {
  const error = namedError(() => readSafetensors(path), path);
  expect(error).toBeInstanceOf(CorruptFileError);
  return error.message;
};

describe('the data_offsets of a safetensors file', () => {
  it('may come in any key order, as long as the tensors tile the data section', () => {
    const path = file('reordered.safetensors', { b: f32([2], 8, 16), a: f32([2], 0, 8) }, 16);
    const st = readSafetensors(path);
    expect(Array.from(st.get('a')!.data)).toEqual([0, 1]);
    expect(Array.from(st.get('b')!.data)).toEqual([2, 3]);
  });

  it('that overlap are refused, naming both tensors: one would read the other’s bytes', () => {
    const path = file('overlap.safetensors', { a: f32([2], 0, 8), b: f32([2], 4, 12) }, 12);
    expect(corruption(path)).toContain("tensor 'b' data_offsets [4, 12] overlap those of 'a'");
  });

  it('that alias the same bytes are refused', () => {
    const path = file('alias.safetensors', { a: f32([2], 0, 8), b: f32([2], 0, 8) }, 8);
    expect(corruption(path)).toMatch(/tensor '[ab]' data_offsets \[0, 8\] overlap those of '[ab]'/);
  });

  it('that leave a gap are refused, saying where', () => {
    const path = file('gap.safetensors', { a: f32([1], 0, 4), b: f32([1], 8, 12) }, 12);
    expect(corruption(path)).toContain("bytes [4, 8) of the data section belong to no tensor (before 'b')");
  });

  it('that leave bytes after the last tensor are refused', () => {
    const path = file('trailing.safetensors', { a: f32([1], 0, 4) }, 12);
    expect(corruption(path)).toContain('the data section holds 12 bytes but its tensors end at byte 4');
  });

  it('past the end of the file are refused, naming the tensor', () => {
    const path = file('past.safetensors', { a: f32([1], 0, 4), b: f32([2], 4, 12) }, 8);
    expect(corruption(path)).toContain(
      "tensor 'b' data_offsets [4, 12] out of range of the 8-byte data section",
    );
  });

  it('with begin after end are refused, naming the tensor', () => {
    const path = file('reversed.safetensors', { a: f32([1], 8, 4) }, 8);
    expect(corruption(path)).toContain("tensor 'a' data_offsets [8, 4] out of range");
  });

  it('spanning other than shape × dtype size are refused, naming the tensor', () => {
    const path = file('size.safetensors', { a: { dtype: 'F16', shape: [3], data_offsets: [0, 8] } }, 8);
    expect(corruption(path)).toContain(
      "tensor 'a' of shape [3] and dtype F16 needs 6 bytes, but its data_offsets span 8",
    );
  });

  it('that are not two non-negative integers are refused', () => {
    for (const offsets of [[0], [0, 4.5], [-4, 0], ['0', '4'], null])
      expect(
        corruption(file('bad.safetensors', { a: { dtype: 'F32', shape: [1], data_offsets: offsets } }, 4)),
      ).toContain("tensor 'a' has invalid data_offsets");
  });

  it('sit beside metadata that must be an object of strings', () => {
    const path = file('metadata.safetensors', { __metadata__: { format: 1 }, a: f32([1], 0, 4) }, 4);
    expect(corruption(path)).toContain('__metadata__ is not an object of strings');
  });
});
