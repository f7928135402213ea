/**
 * The web bundles, built by esbuild for the browser into dist/web — what `reverie serve` serves under
 * /static/ — and the static /play folder, dist/play:
 *
 * - app.js: web/main.ts and what it imports (Observable Plot included); app.css: web/style.css.
 * - play.js: web/play.ts, the in-browser dream (/play): the engine, models and EPO of src/, with
 *   onnxruntime-web. Three Node-only modules are replaced by their browser twins (BROWSER_TWINS: same
 *   exports, no Node built-ins), and onnxruntime-web by its WebAssembly-only build, which loads the same
 *   ort-wasm-simd-threaded.wasm as onnxruntime-web in Node (so that both compute the same floats).
 * - dist/play/: index.html, play.js, app.css, ort-wasm-simd-threaded.wasm, stories260K.bin and tok512.bin —
 *   a folder any static host can serve. Skipped, with a note, where stories260K cannot be found offline
 *   (REVERIE_MODEL_PATH or the cache).
 *
 * Run by `npm run build` (so `npm install` and `npm pack` make it) and before the tests; the output is not
 * committed. `tsx web/build.ts [OUTDIR [PLAYDIR]]` builds into OUTDIR (default dist/web) and PLAYDIR
 * (default dist/play).
 */
import { build, type Metafile, type Plugin } from 'esbuild';
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolveModel } from '../src/io/resolve.ts';
import { playHtml } from '../src/server/pages.ts';
import { PLAY_MODEL } from './play/session.ts';

const WEB = fileURLToPath(new URL('.', import.meta.url));
const SRC = fileURLToPath(new URL('../src/', import.meta.url));
export const DEFAULT_OUTDIR = fileURLToPath(new URL('../dist/web/', import.meta.url));
export const DEFAULT_PLAYDIR = fileURLToPath(new URL('../dist/play/', import.meta.url));

/** Node-only modules of src/ and their browser twins (same exports), by path under src/. */
export const BROWSER_TWINS: Readonly<Record<string, string>> = {
  'runtime/index.ts': 'runtime/browser.ts',
  'io/files.ts': 'io/files.browser.ts',
  'io/sae.ts': 'io/sae.browser.ts',
};

/** onnxruntime-web's WebAssembly file, the one its Node build loads too. */
export const ORT_WASM = 'ort-wasm-simd-threaded.wasm';
export const ortWasmPath = (): string =>
  createRequire(import.meta.url).resolve(`onnxruntime-web/${ORT_WASM}`);

/** Swaps each Node-only module for its browser twin, and onnxruntime-web for its WebAssembly-only build. */
const browserTwins: Plugin = {
  name: 'browser-twins',
  setup(b) {
    const twins = new Map(
      Object.entries(BROWSER_TWINS).map(([from, to]) => [join(SRC, from), join(SRC, to)]),
    );
    b.onResolve({ filter: /\.ts$/ }, (args) => {
      if (!args.path.startsWith('.')) return undefined;
      const twin = twins.get(resolve(args.resolveDir, args.path));
      return twin ? { path: twin } : undefined;
    });
    b.onResolve({ filter: /^onnxruntime-web$/ }, (args) =>
      b.resolve('onnxruntime-web/wasm', { kind: args.kind, resolveDir: args.resolveDir }),
    );
  },
};

const common = {
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  minify: true,
  metafile: true,
  logLevel: 'warning',
} as const;

/** Builds the play bundle into `outdir`; the inputs it bundled, by path (what test/web checks). */
export async function buildPlay(outdir = DEFAULT_OUTDIR): Promise<Metafile> {
  const result = await build({
    ...common,
    entryPoints: [{ in: `${WEB}play.ts`, out: 'play' }],
    outdir,
    plugins: [browserTwins],
  });
  return result.metafile;
}

/** Builds the bundles into `outdir`; the inputs of app.js and app.css, by path. */
export async function buildWeb(outdir = DEFAULT_OUTDIR): Promise<Metafile> {
  const [result] = await Promise.all([
    build({
      ...common,
      entryPoints: [
        { in: `${WEB}main.ts`, out: 'app' },
        { in: `${WEB}style.css`, out: 'app' },
      ],
      outdir,
    }),
    buildPlay(outdir),
  ]);
  return result.metafile;
}

/**
 * The static /play folder from a built `webdir`: the page, its bundle and style, onnxruntime-web's
 * WebAssembly, and stories260K with its tokenizer. False (nothing written) where the model is not found.
 */
export async function buildPlayFolder(webdir = DEFAULT_OUTDIR, playdir = DEFAULT_PLAYDIR): Promise<boolean> {
  let files: { weights: string; tokenizer?: string };
  try {
    files = (await resolveModel(PLAY_MODEL, { offline: true })).files;
  } catch {
    return false;
  }
  if (!files.tokenizer) return false;
  rmSync(playdir, { recursive: true, force: true });
  mkdirSync(playdir, { recursive: true });
  for (const name of ['play.js', 'app.css']) copyFileSync(join(webdir, name), join(playdir, name));
  copyFileSync(ortWasmPath(), join(playdir, ORT_WASM));
  copyFileSync(files.weights, join(playdir, 'stories260K.bin'));
  copyFileSync(files.tokenizer, join(playdir, 'tok512.bin'));
  const view = { weights: 'stories260K.bin', tokenizer: 'tok512.bin', wasm: './' };
  writeFileSync(join(playdir, 'index.html'), playHtml(view, { assets: '', home: null }));
  return true;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const outdir = process.argv[2] ?? DEFAULT_OUTDIR;
  const playdir = process.argv[3] ?? DEFAULT_PLAYDIR;
  await buildWeb(outdir);
  process.stderr.write(`web bundle built in ${outdir}\n`);
  if (await buildPlayFolder(outdir, playdir))
    process.stderr.write(`static /play folder built in ${playdir}\n`);
  else
    process.stderr.write(
      `static /play folder not built: ${PLAY_MODEL} was not found offline (put it on REVERIE_MODEL_PATH)\n`,
    );
}
