import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { type ByteSource, fileBytes } from './bytes.ts';
import { CorruptFileError, UnsupportedDtypeError } from './errors.ts';
import { readJsonFile, stat } from './files.ts';
import {
  type HostTensor,
  type WeightSource,
  bf16FromBytes,
  f16FromBytes,
  f32FromBytes,
  finite,
  numel,
} from './tensors.ts';

// Format: u64 little-endian header length N, N bytes of JSON header, then the data section.
// https://github.com/huggingface/safetensors#format

/** Bytes per element of every dtype the format defines. */
const ITEMSIZE: Readonly<Record<string, number>> = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E4M3: 1,
  F8_E5M2: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  I64: 8,
  U64: 8,
  F64: 8,
};

const DECODERS: Readonly<Record<string, (bytes: Uint8Array) => Float32Array>> = {
  F32: f32FromBytes,
  F16: f16FromBytes,
  BF16: bf16FromBytes,
};

export const SUPPORTED_DTYPES = Object.keys(DECODERS);

/** Where a tensor lives: `begin`/`end` are absolute byte offsets in the file. */
export interface TensorInfo {
  dtype: string;
  shape: number[];
  begin: number;
  end: number;
}

/** Bound on the JSON header, as in the reference implementation. */
const MAX_HEADER = 100_000_000;

export class SafetensorsFile implements WeightSource {
  private constructor(
    private readonly source: ByteSource,
    private readonly infos: Map<string, TensorInfo>,
    readonly metadata: Record<string, string>,
  ) {}

  static open(source: ByteSource): SafetensorsFile {
    const { infos, metadata } = parseHeader(source);
    return new SafetensorsFile(source, infos, metadata);
  }

  get path(): string {
    return this.source.label;
  }

  get label(): string {
    return this.source.label;
  }

  names(): string[] {
    return [...this.infos.keys()];
  }

  info(name: string): TensorInfo | undefined {
    return this.infos.get(name);
  }

  shape(name: string): number[] | undefined {
    const info = this.infos.get(name);
    return info && [...info.shape];
  }

  /** The tensor as float32; a NaN or ±Inf in it is a CorruptFileError. */
  get(name: string): HostTensor | undefined {
    const info = this.infos.get(name);
    if (!info) return undefined;
    const decode = DECODERS[info.dtype];
    if (!decode) throw new UnsupportedDtypeError(this.path, name, info.dtype, SUPPORTED_DTYPES);
    const data = decode(this.source.read(info.begin, info.end - info.begin));
    return finite({ shape: [...info.shape], data }, name, this.path);
  }
}

function parseHeader(source: ByteSource): {
  infos: Map<string, TensorInfo>;
  metadata: Record<string, string>;
} {
  const corrupt = (problem: string) => new CorruptFileError(source.label, problem);
  if (source.size < 8) throw corrupt(`file is ${source.size} bytes, shorter than the 8-byte header length`);
  const lenBytes = source.read(0, 8);
  const n = Number(new DataView(lenBytes.buffer, lenBytes.byteOffset, 8).getBigUint64(0, true));
  if (n > source.size - 8) {
    throw corrupt(`header length is ${n} bytes but only ${source.size - 8} bytes follow it (truncated?)`);
  }
  if (n > MAX_HEADER) throw corrupt(`header length ${n} exceeds the ${MAX_HEADER}-byte limit`);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(source.read(8, n)));
  } catch (e) {
    throw corrupt(`header is not valid UTF-8 JSON (${(e as Error).message})`);
  }
  if (!isObject(header)) throw corrupt('header is not a JSON object');

  const dataStart = 8 + n;
  const dataLen = source.size - dataStart;
  const infos = new Map<string, TensorInfo>();
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') {
      if (entry === null) continue;
      if (!isObject(entry) || !Object.values(entry).every((v) => typeof v === 'string'))
        throw corrupt('__metadata__ is not an object of strings');
      metadata = entry as Record<string, string>;
      continue;
    }
    if (!isObject(entry)) throw corrupt(`entry for '${name}' is not an object`);
    const { dtype, shape, data_offsets: offsets } = entry;
    if (typeof dtype !== 'string' || !(dtype in ITEMSIZE)) {
      throw corrupt(`tensor '${name}' has unknown dtype ${JSON.stringify(dtype)}`);
    }
    if (!Array.isArray(shape) || !shape.every(isCount)) {
      throw corrupt(`tensor '${name}' has invalid shape ${JSON.stringify(shape)}`);
    }
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount)) {
      throw corrupt(`tensor '${name}' has invalid data_offsets ${JSON.stringify(offsets)}`);
    }
    const [begin, end] = offsets as [number, number];
    if (begin > end || end > dataLen) {
      throw corrupt(
        `tensor '${name}' data_offsets [${begin}, ${end}] out of range of the ${dataLen}-byte data section`,
      );
    }
    const expected = numel(shape as number[]) * ITEMSIZE[dtype]!;
    if (end - begin !== expected) {
      throw corrupt(
        `tensor '${name}' of shape [${shape.join(', ')}] and dtype ${dtype} needs ${expected} bytes, ` +
          `but its data_offsets span ${end - begin}`,
      );
    }
    infos.set(name, { dtype, shape: shape as number[], begin: dataStart + begin, end: dataStart + end });
  }
  checkTiling(infos, dataStart, source.size, corrupt);
  return { infos, metadata };
}

/**
 * The tensors must tile the data section: in offset order each begins where the one before ended, the
 * first at 0 and the last at the end. Overlaps would let one tensor read another's bytes. As in the
 * reference implementation (safetensors `Metadata::validate`), which also refuses gaps and trailing bytes;
 * the header's key order does not matter.
 */
function checkTiling(
  infos: Map<string, TensorInfo>,
  dataStart: number,
  size: number,
  corrupt: (problem: string) => CorruptFileError,
): void {
  const byOffset = [...infos].sort(([, a], [, b]) => a.begin - b.begin || a.end - b.end);
  let covered = dataStart;
  let previous = '';
  for (const [name, { begin, end }] of byOffset) {
    const offsets = `[${begin - dataStart}, ${end - dataStart}]`;
    if (begin < covered)
      throw corrupt(`tensor '${name}' data_offsets ${offsets} overlap those of '${previous}'`);
    if (begin > covered)
      throw corrupt(
        `bytes [${covered - dataStart}, ${begin - dataStart}) of the data section belong to no tensor ` +
          `(before '${name}')`,
      );
    covered = end;
    previous = name;
  }
  if (covered !== size)
    throw corrupt(
      `the data section holds ${size - dataStart} bytes but its tensors end at byte ${covered - dataStart}`,
    );
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function isCount(x: unknown): x is number {
  return Number.isSafeInteger(x) && (x as number) >= 0;
}

export function readSafetensors(path: string): SafetensorsFile {
  return SafetensorsFile.open(fileBytes(path));
}

/** The tensors of a sharded checkpoint, from its `model.safetensors.index.json`. */
export function readShardedSafetensors(indexPath: string): WeightSource {
  const index = readJsonFile(indexPath);
  const map = isObject(index) ? index.weight_map : undefined;
  if (!isObject(map)) throw new CorruptFileError(indexPath, 'expected a "weight_map" object');
  const shards = new Map<string, SafetensorsFile>();
  const owner = new Map<string, SafetensorsFile>();
  for (const [name, file] of Object.entries(map)) {
    if (typeof file !== 'string') {
      throw new CorruptFileError(
        indexPath,
        `weight_map['${name}'] is ${JSON.stringify(file)}, not a file name`,
      );
    }
    let shard = shards.get(file);
    if (!shard) {
      const shardPath = join(dirname(indexPath), file);
      if (!existsSync(shardPath)) throw new CorruptFileError(indexPath, `shard ${file} is missing`);
      shard = readSafetensors(shardPath);
      shards.set(file, shard);
    }
    if (!shard.info(name))
      throw new CorruptFileError(indexPath, `tensor '${name}' is not in its shard ${file}`);
    owner.set(name, shard);
  }
  return {
    label: indexPath,
    names: () => [...owner.keys()],
    get: (name) => owner.get(name)?.get(name),
    shape: (name) => owner.get(name)?.shape(name),
  };
}

/** A `.safetensors` file, a `*.index.json`, or a directory holding `model.safetensors[.index.json]`. */
export function openSafetensors(path: string): WeightSource {
  if (stat(path).isDirectory()) {
    const index = join(path, 'model.safetensors.index.json');
    if (existsSync(index)) return readShardedSafetensors(index);
    const single = join(path, 'model.safetensors');
    if (existsSync(single)) return readSafetensors(single);
    const any = readdirSync(path).filter((f) => f.endsWith('.safetensors'));
    if (any.length === 1) return readSafetensors(join(path, any[0]!));
    throw new CorruptFileError(
      path,
      `expected model.safetensors or its index, found ${any.length} .safetensors files`,
    );
  }
  return path.endsWith('.json') ? readShardedSafetensors(path) : readSafetensors(path);
}

/** Serializes float32 tensors (header padded with spaces so the data starts 8-aligned). */
export function encodeSafetensors(
  tensors: Record<string, HostTensor>,
  metadata?: Record<string, string>,
): Uint8Array {
  const header: Record<string, unknown> = metadata ? { __metadata__: metadata } : {};
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    if (t.data.length !== numel(t.shape)) {
      throw new Error(
        `tensor '${name}': shape [${t.shape.join(', ')}] does not hold ${t.data.length} values`,
      );
    }
    header[name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const head = new Uint8Array(json.length + ((8 - (json.length % 8)) % 8)).fill(0x20);
  head.set(json);
  const out = new Uint8Array(8 + head.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  let at = 8 + head.length;
  for (const t of Object.values(tensors)) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), at);
    at += t.data.byteLength;
  }
  return out;
}

export function writeSafetensors(
  path: string,
  tensors: Record<string, HostTensor>,
  metadata?: Record<string, string>,
): void {
  writeFileSync(path, encodeSafetensors(tensors, metadata));
}
