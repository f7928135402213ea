/**
 * The browser's twin of ./files.ts (same exports, swapped in by web/build.ts): a page has no file system, so
 * every reader fails with an UnreadableFileError that says so. Code that runs in a browser is handed bytes
 * (memoryBytes, Llama2cTokenizer.parse, llama2cModel) instead of paths.
 */
import type { ByteSource } from './bytes.ts';
import { UnreadableFileError } from './errors.ts';

const NO_FILES = 'cannot be read in a browser, which has no file system: fetch its bytes and pass those';

/** The error a reader of `path` fails with. */
export const unreadable = (path: string, _error?: unknown): UnreadableFileError =>
  new UnreadableFileError(path, NO_FILES);

const refuse = (path: string): never => {
  throw unreadable(path);
};

export const stat = (path: string): never => refuse(path);
export const regularFile = (path: string): never => refuse(path);
export const readFileBytes = (path: string): never => refuse(path);
export const readJsonFile = (path: string): never => refuse(path);
export const fileBytes = (path: string): ByteSource => refuse(path);
export const sha256Files = (paths: readonly string[]): never => refuse(paths[0] ?? '');
