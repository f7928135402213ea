import { readFileSync } from 'node:fs';
import { CorruptFileError } from './errors.ts';

/** Reads a direction file for `HOOK@dir:FILE.json` targets: a JSON array of numbers. */
export function readDirectionFile(path: string): number[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new CorruptFileError(path, `cannot read the direction file: ${(error as Error).message}`);
  }
  if (!Array.isArray(parsed) || !parsed.every((v) => typeof v === 'number' && Number.isFinite(v)))
    throw new CorruptFileError(path, 'a direction file must hold a JSON array of finite numbers');
  return parsed as number[];
}
