/**
 * Everything of src/io that reads the file system. The browser bundle (web/build.ts) replaces this module by
 * its twin ./files.browser.ts, which has the same exports and no file system.
 */
import { createHash } from 'node:crypto';
import { closeSync, openSync, readFileSync, readSync, statSync, type Stats } from 'node:fs';
import type { ByteSource } from './bytes.ts';
import { CorruptFileError, UnreadableFileError } from './errors.ts';

const REASONS: Readonly<Record<string, string>> = {
  ENOENT: 'does not exist',
  ENOTDIR: 'does not exist (a component of the path is not a directory)',
  EACCES: 'cannot be read: permission denied',
  EPERM: 'cannot be read: operation not permitted',
  ELOOP: 'cannot be read: too many symbolic links',
  ENAMETOOLONG: 'cannot be read: the path is too long',
};

/** The reason a file system call on `path` failed, in words (never the raw errno message). */
export function unreadable(path: string, error: unknown): UnreadableFileError {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return new UnreadableFileError(path, REASONS[code ?? ''] ?? `cannot be read (${code ?? String(error)})`);
}

export function stat(path: string): Stats {
  try {
    return statSync(path);
  } catch (error) {
    throw unreadable(path, error);
  }
}

/**
 * The file's status, which must be that of a regular file: reading a directory fails late and oddly, and
 * reading a FIFO or a device (`/dev/zero`) would block or never end.
 */
export function regularFile(path: string): Stats {
  const stats = stat(path);
  if (stats.isDirectory()) throw new UnreadableFileError(path, 'is a directory, not a file');
  if (!stats.isFile()) throw new UnreadableFileError(path, 'is not a regular file');
  return stats;
}

export function readFileBytes(path: string): Buffer {
  regularFile(path);
  try {
    return readFileSync(path);
  } catch (error) {
    throw unreadable(path, error);
  }
}

/**
 * A JSON file's value. The error says where the JSON breaks but never quotes the file: a path given by
 * mistake (`/etc/passwd`) must not end up in a terminal or a log.
 */
export function readJsonFile(path: string): unknown {
  const text = readFileBytes(path).toString('utf8');
  if (text.trim() === '') throw new CorruptFileError(path, 'is empty; expected JSON');
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new CorruptFileError(path, `is not valid JSON${whereJsonBreaks(error as Error, text)}`);
  }
}

/** " (line L, column C)" from V8's "at position N", " (it ends early)", or nothing. */
function whereJsonBreaks(error: Error, text: string): string {
  if (/end of JSON input/.test(error.message)) return ' (it ends before the value is complete)';
  const position = /at position (\d+)/.exec(error.message);
  if (!position) return '';
  const before = text.slice(0, Number(position[1])).split('\n');
  return ` (line ${before.length}, column ${before.at(-1)!.length + 1})`;
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

/** sha256 of files, in order (a model's weights). */
export function sha256Files(paths: readonly string[]): string {
  const hash = createHash('sha256');
  for (const path of paths) hash.update(readFileBytes(path));
  return hash.digest('hex');
}
