/** Output paths checked before any work, so that a typo fails at once and not after a long scan or run. */
import { accessSync, constants, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { UsageError } from './command.ts';

/** An output file the command could not write: its directory missing or a file, or the path a directory. */
export class OutputPathError extends UsageError {
  override name = 'OutputPathError';
}

/** What is at `path`, or undefined where nothing is (or it cannot be seen: a file where a directory goes). */
function kindOf(path: string): 'file' | 'directory' | undefined {
  let stat;
  try {
    stat = statSync(path);
  } catch {
    return undefined;
  }
  return stat.isDirectory() ? 'directory' : 'file';
}

function checkWritable(flag: string, path: string, dir: string): void {
  try {
    accessSync(dir, constants.W_OK);
  } catch {
    throw new OutputPathError(`${flag} ${path}: cannot write in ${dir}`);
  }
}

/** Checks that a file can be written at `path`, given as `flag`: its directory exists, and it is not one. */
export function checkOutputFile(flag: string, path: string): void {
  if (kindOf(path) === 'directory') throw new OutputPathError(`${flag} ${path}: is a directory, not a file`);
  const dir = dirname(resolve(path));
  const kind = kindOf(dir);
  if (kind !== 'directory')
    throw new OutputPathError(
      `${flag} ${path}: ${kind === 'file' ? `${dir} is a file, not a directory` : `the directory ${dir} does not exist`}`,
    );
  checkWritable(flag, path, dir);
}
