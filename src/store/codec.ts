/**
 * Compact blobs for what a run stores per iteration: candidates (ids, target, xent) and the population of a
 * checkpoint (with its top-k tables). Layout, little-endian: a u32 count n and a u32 length L, then the ids
 * (n·L × u16 where every id fits, else u32, said by a leading u8 width), then per item its float64 fields.
 * Float64, not float32: a resume must see the values the run compared, bit for bit. Typed arrays are written
 * in the host's byte order, little-endian on every platform ONNX Runtime ships for (checked on load).
 */
import type { Candidate } from '../dream/epo.ts';
import type { Checkpoint } from '../dream/records.ts';
import { CorruptStoreError, StoreError } from './errors.ts';

/** The typed arrays below are read and written as little-endian bytes. */
if (new Uint8Array(Uint16Array.of(1).buffer)[0] !== 1)
  throw new StoreError('the store codec needs a little-endian host, as ONNX Runtime does');

const bytesOf = (a: ArrayBufferView): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

class Writer {
  private readonly parts: Buffer[] = [];
  u8(v: number): void {
    this.parts.push(Buffer.from([v]));
  }
  u32(v: number): void {
    this.parts.push(bytesOf(Uint32Array.of(v)));
  }
  ints(values: ArrayLike<number>): void {
    let wide = false;
    for (let i = 0; i < values.length; i++) if ((values[i] as number) > 0xffff) wide = true;
    this.u8(wide ? 4 : 2);
    this.parts.push(bytesOf(wide ? Uint32Array.from(values) : Uint16Array.from(values)));
  }
  f64s(values: readonly number[]): void {
    this.parts.push(bytesOf(Float64Array.from(values)));
  }
  done(): Buffer {
    return Buffer.concat(this.parts);
  }
}

class Reader {
  private at = 0;
  constructor(
    private readonly b: Buffer,
    private readonly what: string,
  ) {}
  private need(bytes: number): void {
    if (this.at + bytes > this.b.length)
      throw new CorruptStoreError(
        `${this.what} is truncated: ${this.b.length} bytes, needs ${this.at + bytes}`,
      );
  }
  u8(): number {
    this.need(1);
    return this.b.readUInt8(this.at++);
  }
  u32(): number {
    this.need(4);
    const v = this.b.readUInt32LE(this.at);
    this.at += 4;
    return v;
  }
  ints(count: number): Int32Array {
    const width = this.u8();
    if (width !== 2 && width !== 4)
      throw new CorruptStoreError(`${this.what}: token width ${width}, expected 2 or 4`);
    const bytes = this.take(count * width);
    return Int32Array.from(width === 4 ? new Uint32Array(bytes) : new Uint16Array(bytes));
  }
  f64s(count: number): number[] {
    return Array.from(new Float64Array(this.take(count * 8)));
  }
  /** The next `bytes` bytes, copied into an aligned buffer of their own. */
  private take(bytes: number): ArrayBuffer {
    this.need(bytes);
    const copy = new Uint8Array(bytes);
    copy.set(this.b.subarray(this.at, this.at + bytes));
    this.at += bytes;
    return copy.buffer;
  }
  end(): void {
    if (this.at !== this.b.length)
      throw new CorruptStoreError(`${this.what}: ${this.b.length - this.at} bytes left over`);
  }
}

const rows = (flat: Int32Array, n: number, L: number): number[][] =>
  Array.from({ length: n }, (_, i) => Array.from(flat.subarray(i * L, (i + 1) * L)));

export function encodeCandidates(candidates: readonly Candidate[]): Buffer {
  const w = new Writer();
  const L = candidates[0]?.ids.length ?? 0;
  w.u32(candidates.length);
  w.u32(L);
  w.ints(candidates.flatMap((c) => c.ids));
  w.f64s(candidates.map((c) => c.target));
  w.f64s(candidates.map((c) => c.xent));
  return w.done();
}

export function decodeCandidates(blob: Buffer, what: string): Candidate[] {
  const r = new Reader(blob, what);
  const n = r.u32();
  const L = r.u32();
  const ids = rows(r.ints(n * L), n, L);
  const target = r.f64s(n);
  const xent = r.f64s(n);
  r.end();
  return ids.map((c, i) => ({ ids: c, target: target[i] as number, xent: xent[i] as number }));
}

type Members = Checkpoint['population'];

/** A checkpoint's population: ids, target, xent, penalty, and the top-k (and likeliest-token) tables. */
export function encodePopulation(population: Members): Buffer {
  const w = new Writer();
  const first = population[0];
  const L = first?.ids.length ?? 0;
  const table = first?.topk.length ?? 0;
  const likely = first?.likely !== undefined;
  w.u32(population.length);
  w.u32(L);
  w.u32(table);
  w.u8(likely ? 1 : 0);
  w.ints(population.flatMap((m) => m.ids));
  w.f64s(population.map((m) => m.target));
  w.f64s(population.map((m) => m.xent));
  w.f64s(population.map((m) => m.penalty));
  for (const m of population) w.ints(m.topk);
  if (likely) for (const m of population) w.ints(m.likely as Int32Array);
  return w.done();
}

export function decodePopulation(blob: Buffer, what: string): Members {
  const r = new Reader(blob, what);
  const n = r.u32();
  const L = r.u32();
  const table = r.u32();
  const likely = r.u8() === 1;
  const ids = rows(r.ints(n * L), n, L);
  const target = r.f64s(n);
  const xent = r.f64s(n);
  const penalty = r.f64s(n);
  const topk = ids.map(() => r.ints(table));
  const likelies = likely ? ids.map(() => r.ints(table)) : undefined;
  r.end();
  return ids.map((m, i) => ({
    ids: m,
    target: target[i] as number,
    xent: xent[i] as number,
    penalty: penalty[i] as number,
    topk: topk[i] as Int32Array,
    ...(likelies && { likely: likelies[i] as Int32Array }),
  }));
}
