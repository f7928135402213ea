/**
 * The browser's twin of ./sae.ts (same exports, swapped in by web/build.ts): SAELens folders are read from
 * the file system, which a page does not have.
 */
import { UnreadableFileError } from './errors.ts';
export type { SaeFeature, SaeFeatures } from './sae.ts';

const refuse = (dir: string): never => {
  throw new UnreadableFileError(dir, 'is a SAELens folder; SAE targets are not read in a browser');
};

export const readSaeFeatures = (dir: string, ..._rest: unknown[]): never => refuse(dir);
export const readSaeFeature = (dir: string, _feature: number): never => refuse(dir);
