/**
 * The in-browser dream (play.js, /play) is the Node code of src/ — engine, models, EPO — bundled for the
 * browser: its module graph, as esbuild bundled it, holds no Node built-in and no onnxruntime-node, and the
 * browser twins that web/build.ts swaps in export what the Node modules they replace export.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BROWSER_TWINS, buildPlay } from '../../web/build.ts';

const NODE_BUILTINS = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));

describe('the play bundle', () => {
  it('bundles src/ (engine, models, EPO) without Node built-ins or onnxruntime-node', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'reverie-play-'));
    try {
      const meta = await buildPlay(dir);
      const inputs = Object.keys(meta.inputs);
      for (const file of [
        'src/dream/run.ts',
        'src/dream/epo.ts',
        'src/dream/engine/evaluator.ts',
        'src/models/llama.ts',
        'src/objectives/target.ts',
        'src/graph/onnx-writer.ts',
        'src/runtime/web.ts',
        'src/runtime/browser.ts',
      ])
        expect(inputs).toContain(file);
      for (const replaced of Object.keys(BROWSER_TWINS)) expect(inputs).not.toContain(`src/${replaced}`);
      expect(inputs.filter((f) => /onnxruntime-node|runtime\/node\.ts/.test(f))).toEqual([]);
      const nodeImports = Object.entries(meta.inputs).flatMap(([file, input]) =>
        input.imports
          .filter((i) => i.path !== '<runtime>') // esbuild's own helpers
          .filter((i) => i.path.startsWith('node:') || NODE_BUILTINS.has(i.path) || i.external)
          .map((i) => `${file} imports ${i.path}`),
      );
      expect(nodeImports).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.each(Object.entries(BROWSER_TWINS))('swaps src/%s for a twin with its exports', async (from, to) => {
    const node = await import(/* @vite-ignore */ resolve('src', from));
    const browser = await import(/* @vite-ignore */ resolve('src', to));
    expect(Object.keys(browser).sort()).toEqual(Object.keys(node).sort());
  });
});
