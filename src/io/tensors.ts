import { CorruptFileError } from './errors.ts';

/** A named float32 tensor on the host, row-major. */
export interface HostTensor {
  shape: number[];
  data: Float32Array;
}

/** A map of named float32 tensors, read on demand. */
export interface WeightSource {
  names(): string[];
  get(name: string): HostTensor | undefined;
  /** A tensor's shape without reading its data, where the source can tell. */
  shape?(name: string): number[] | undefined;
  /** The file the tensors come from, for errors. */
  readonly label?: string;
}

export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * `tensor`, after one pass over its values: a NaN or ±Inf in a checkpoint is a CorruptFileError naming
 * the file, the tensor and where. x·0 is ±0 for every finite x and NaN for NaN and ±Inf, so the sum is 0
 * exactly when all are finite: one pass, without a branch.
 */
export function finite(tensor: HostTensor, name: string, path: string): HostTensor {
  const { data } = tensor;
  let probe = 0;
  for (let i = 0; i < data.length; i++) probe += data[i]! * 0;
  if (probe !== 0) throw nonFinite(tensor, name, path);
  return tensor;
}

function nonFinite({ shape, data }: HostTensor, name: string, path: string): CorruptFileError {
  const first = data.findIndex((x) => !Number.isFinite(x));
  const count = data.reduce((n, x) => (Number.isFinite(x) ? n : n + 1), 0);
  const others = count > 1 ? ` and ${count - 1} more non-finite values` : '';
  return new CorruptFileError(
    path,
    `tensor '${name}' [${shape.join(', ')}] holds ${data[first]} at [${unravel(first, shape).join(', ')}]` +
      `${others}; expected finite weights`,
  );
}

/** The multi-index of flat row-major index `i` in `shape`. */
function unravel(i: number, shape: readonly number[]): number[] {
  const index = new Array<number>(shape.length);
  for (let axis = shape.length - 1; axis >= 0; axis--) {
    const size = shape[axis]!;
    index[axis] = i % size;
    i = Math.floor(i / size);
  }
  return index;
}

const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Little-endian float32 bytes as a Float32Array: a view when aligned, a copy otherwise. */
export function f32FromBytes(bytes: Uint8Array): Float32Array {
  const n = bytes.byteLength >>> 2;
  if (littleEndian && bytes.byteOffset % 4 === 0) return new Float32Array(bytes.buffer, bytes.byteOffset, n);
  const out = new Float32Array(n);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < n; i++) out[i] = view.getFloat32(4 * i, true);
  return out;
}

function u16FromBytes(bytes: Uint8Array): Uint16Array {
  const n = bytes.byteLength >>> 1;
  if (littleEndian && bytes.byteOffset % 2 === 0) return new Uint16Array(bytes.buffer, bytes.byteOffset, n);
  const out = new Uint16Array(n);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < n; i++) out[i] = view.getUint16(2 * i, true);
  return out;
}

/** bfloat16 is the top half of a float32: shift it back into place. */
export function bf16FromBytes(bytes: Uint8Array): Float32Array {
  const src = u16FromBytes(bytes);
  const bits = new Uint32Array(src.length);
  for (let i = 0; i < src.length; i++) bits[i] = src[i]! << 16;
  return new Float32Array(bits.buffer);
}

let f16Table: Float32Array | undefined;

/** IEEE 754 binary16 → float32 for all 65536 bit patterns (sign, 5-bit exponent bias 15, 10-bit fraction). */
function halfTable(): Float32Array {
  if (f16Table) return f16Table;
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >> 10) & 0x1f;
    const frac = h & 0x3ff;
    if (exp === 0) t[h] = sign * frac * 2 ** -24;
    else if (exp === 31) t[h] = frac ? NaN : sign * Infinity;
    else t[h] = sign * (1 + frac / 1024) * 2 ** (exp - 15);
  }
  return (f16Table = t);
}

export function f16FromBytes(bytes: Uint8Array): Float32Array {
  const src = u16FromBytes(bytes);
  const table = halfTable();
  const out = new Float32Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = table[src[i]!]!;
  return out;
}
