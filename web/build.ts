/**
 * The web bundle: web/main.ts (and what it imports, Observable Plot included) bundled by esbuild for the
 * browser into app.js, web/style.css into app.css — what `reverie serve` serves under /static/. Run by
 * `npm run build` (so `npm install` and `npm pack` make it) and before the tests; the output is not
 * committed. `tsx web/build.ts [OUTDIR]` builds into OUTDIR (default dist/web).
 */
import { build, type Metafile } from 'esbuild';
import { fileURLToPath } from 'node:url';

const WEB = fileURLToPath(new URL('.', import.meta.url));
export const DEFAULT_OUTDIR = fileURLToPath(new URL('../dist/web/', import.meta.url));

/** Builds the bundle into `outdir`; the inputs it bundled, by path. */
export async function buildWeb(outdir = DEFAULT_OUTDIR): Promise<Metafile> {
  const result = await build({
    entryPoints: [
      { in: `${WEB}main.ts`, out: 'app' },
      { in: `${WEB}style.css`, out: 'app' },
    ],
    outdir,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    metafile: true,
    logLevel: 'warning',
  });
  return result.metafile;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const outdir = process.argv[2] ?? DEFAULT_OUTDIR;
  await buildWeb(outdir);
  process.stderr.write(`web bundle built in ${outdir}\n`);
}
