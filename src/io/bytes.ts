/** Random access to the bytes of a file or of an in-memory buffer. */
export interface ByteSource {
  readonly label: string;
  readonly size: number;
  /** `length` bytes at `offset`: a view for memory, a fresh buffer read from disk for files. */
  read(offset: number, length: number): Uint8Array;
}

export function memoryBytes(bytes: Uint8Array, label = '<memory>'): ByteSource {
  return {
    label,
    size: bytes.byteLength,
    read: (offset, length) => bytes.subarray(offset, offset + length),
  };
}

/** Reads a file lazily (Node only: it lives in ./files.ts, which the browser bundle replaces). */
export { fileBytes } from './files.ts';
