/**
 * Compact blobs for what a run stores per iteration: candidates (ids, target, xent) and the population of a
 * checkpoint (with its top-k tables). Layout, little-endian: a u32 count n and a u32 length L, then the ids
 * (n·L × u16 where every id fits, else u32, said by a leading u8 width), then per item its float64 fields.
 * Float64, not float32: a resume must see the values the run compared, bit for bit.
 */
import type { Candidate } from '../dream/epo.ts';
import type { Checkpoint } from '../dream/records.ts';
import { CorruptStoreError } from './errors.ts';

class Writer {
  private readonly parts: Buffer[] = [];
  u8(v: number): void {
    this.parts.push(Buffer.from([v]));
  }
  u32(v: number): void {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v);
    this.parts.push(b);
  }
  ints(values: ArrayLike<number>): void {
    const wide = Array.prototype.some.call(values, (v: number) => v > 0xffff);
    this.u8(wide ? 4 : 2);
    const b = Buffer.alloc(values.length * (wide ? 4 : 2));
    for (let i = 0; i < values.length; i++)
      if (wide) b.writeUInt32LE(values[i] as number, 4 * i);
      else b.writeUInt16LE(values[i] as number, 2 * i);
    this.parts.push(b);
  }
  f64s(values: readonly number[]): void {
    const b = Buffer.alloc(values.length * 8);
    values.forEach((v, i) => b.writeDoubleLE(v, 8 * i));
    this.parts.push(b);
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
    this.need(count * width);
    const out = new Int32Array(count);
    for (let i = 0; i < count; i++)
      out[i] = width === 4 ? this.b.readUInt32LE(this.at + 4 * i) : this.b.readUInt16LE(this.at + 2 * i);
    this.at += count * width;
    return out;
  }
  f64s(count: number): number[] {
    this.need(count * 8);
    const out = Array.from({ length: count }, (_, i) => this.b.readDoubleLE(this.at + 8 * i));
    this.at += count * 8;
    return out;
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
