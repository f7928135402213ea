import { CorruptFileError } from './errors.ts';
import { readJsonFile } from './files.ts';

/**
 * Reads a direction file for `HOOK@dir:FILE.json` targets: a JSON array of numbers. Its errors name the
 * file and the problem, never its contents: the path comes from a command line.
 */
export function readDirectionFile(path: string): number[] {
  const parsed = readJsonFile(path);
  if (!Array.isArray(parsed) || parsed.length === 0)
    throw new CorruptFileError(path, 'expected a direction: a non-empty JSON array of finite numbers');
  const bad = parsed.findIndex((v) => typeof v !== 'number' || !Number.isFinite(v));
  if (bad >= 0) throw new CorruptFileError(path, `entry ${bad} of the direction is not a finite number`);
  return parsed as number[];
}
