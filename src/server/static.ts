/**
 * The static root: the web bundle (web/ built by esbuild into dist/web). Only regular files directly inside
 * it are served, by name; a name with a separator, a dot-segment or a link out of the root is refused.
 */
import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { extname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ForbiddenError, NotFoundError } from './errors.ts';

const TYPES: Readonly<Record<string, string>> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.wasm': 'application/wasm',
};

/** onnxruntime-web's WebAssembly, which play.js loads: served from the installed package, not copied. */
const ORT_WASM = 'ort-wasm-simd-threaded.wasm';

/**
 * Where the bundle is: dist/web beside the compiled server (an installed package), or the checkout's
 * dist/web seen from src/server.
 */
export function defaultStaticRoot(): string {
  const candidates = [new URL('../web/', import.meta.url), new URL('../../dist/web/', import.meta.url)].map(
    (u) => fileURLToPath(u),
  );
  return candidates.find((dir) => existsSync(join(dir, 'app.js'))) ?? (candidates[1] as string);
}

export const bundleBuilt = (root: string): boolean => existsSync(join(root, 'app.js'));

/** A file of the static root by its name (the path's segments after /static/, decoded). */
export function staticFile(root: string, segments: readonly string[]): { body: Buffer; type: string } {
  const name = segments.join('/');
  if (segments.length !== 1 || name === '' || /[/\\\0]/.test(name) || name.startsWith('.'))
    throw new ForbiddenError(
      `/static/ serves the files of its folder by name, not ${JSON.stringify(name.slice(0, 80))}`,
    );
  const type = TYPES[extname(name)];
  if (!type) throw new NotFoundError(`no static file ${JSON.stringify(name)}`);
  if (name === ORT_WASM && !existsSync(join(root, name)))
    return {
      body: readFileSync(createRequire(import.meta.url).resolve(`onnxruntime-web/${ORT_WASM}`)),
      type,
    };
  const path = join(root, name);
  if (!existsSync(path) || !statSync(path).isFile())
    throw new NotFoundError(`no static file ${JSON.stringify(name)}`);
  const real = realpathSync(path);
  if (!real.startsWith(realpathSync(root) + sep))
    throw new ForbiddenError(`${JSON.stringify(name)} lies outside the static root`);
  return { body: readFileSync(real), type };
}
