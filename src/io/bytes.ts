import { closeSync, openSync, readSync } from 'node:fs';
import { CorruptFileError } from './errors.ts';
import { regularFile, unreadable } from './files.ts';

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

const CHUNK = 1 << 30;

/** Reads lazily, so files larger than memory or than Node's 2 GiB readFile limit are fine. */
export function fileBytes(path: string): ByteSource {
  const { size } = regularFile(path);
  return {
    label: path,
    size,
    read(offset, length) {
      const out = new Uint8Array(length);
      const fd = open(path);
      try {
        let done = 0;
        while (done < length) {
          const n = readSync(fd, out, done, Math.min(CHUNK, length - done), offset + done);
          if (n === 0)
            throw new CorruptFileError(path, `ends at byte ${offset + done}, shorter than when opened`);
          done += n;
        }
      } finally {
        closeSync(fd);
      }
      return out;
    },
  };
}

function open(path: string): number {
  try {
    return openSync(path, 'r');
  } catch (error) {
    throw unreadable(path, error);
  }
}
