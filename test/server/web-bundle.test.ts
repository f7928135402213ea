/**
 * The web bundle: esbuild builds web/ (Observable Plot included) for the browser, and nothing of Node is in
 * it — no `node:` import in web/'s sources, in what the bundle takes in, or in the bundle itself.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildWeb } from '../../web/build.ts';

const dir = mkdtempSync(join(tmpdir(), 'reverie-web-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const webSources = (folder = 'web'): string[] =>
  readdirSync(folder, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? webSources(join(folder, e.name)) : e.name.endsWith('.ts') ? [join(folder, e.name)] : [],
  );

describe('the web bundle', () => {
  it('builds app.js and app.css from web/, with Observable Plot and no node: import', async () => {
    const metafile = await buildWeb(dir);
    expect(readdirSync(dir).sort()).toEqual(['app.css', 'app.js', 'play.js']);
    const inputs = Object.keys(metafile.inputs);
    expect(inputs).toContain('web/main.ts');
    expect(inputs.some((path) => path.includes('@observablehq/plot'))).toBe(true);
    expect(
      inputs.filter(
        (path) => path.startsWith('node:') || /^src\/(io|store|runtime|server\/(?!types))/.test(path),
      ),
    ).toEqual([]);
    const bundle = readFileSync(join(dir, 'app.js'), 'utf8');
    expect(bundle).not.toMatch(/(from|import|require)\s*\(?\s*["']node:/);
    expect(bundle.length).toBeGreaterThan(10_000);
  }, 60_000);

  it('keeps node: imports out of web/ (but its build script, which runs in Node)', () => {
    const offenders = webSources()
      .filter((file) => file !== join('web', 'build.ts'))
      .filter((file) => /from\s+['"]node:|import\(\s*['"]node:/.test(readFileSync(file, 'utf8')));
    expect(offenders).toEqual([]);
  });
});
