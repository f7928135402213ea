/**
 * The layer rule (DESIGN.md §2), checked over the imports of every source file under src/: a file imports
 * only from its own layer or lower ones; src/graph runs in a browser (no Node built-ins, no ONNX Runtime);
 * only src/runtime talks to ONNX Runtime.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const SRC = resolve('src');

/** Layer of each top-level directory of src/. */
const LAYERS: Readonly<Record<string, number>> = {
  graph: 0,
  runtime: 1,
  nn: 1,
  io: 2,
  tokenizers: 2,
  models: 3,
  objectives: 4,
  dream: 5,
  data: 6,
  store: 6,
  report: 6,
  sweep: 7,
  cli: 8,
  server: 8,
  /** src/index.ts, the package entry: it may re-export any layer, and no layer may import it. */
  '(entry)': 9,
};

/** Pairs in one layer that still may not import each other: importer → imported. */
const FORBIDDEN: readonly [string, string][] = [['nn', 'runtime']];

const NODE_BUILTINS = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
const isNodeBuiltin = (spec: string): boolean =>
  spec.startsWith('node:') || NODE_BUILTINS.has(spec) || NODE_BUILTINS.has(spec.split('/')[0] as string);
const isOnnxRuntime = (spec: string): boolean => /^onnxruntime-/.test(spec);

interface Import {
  file: string;
  spec: string;
  line: number;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return /\.(ts|mts|cts|js|mjs|cjs|tsx)$/.test(entry.name) ? [path] : [];
  });
}

/** Every static import, re-export and dynamic import() of a file, found by TypeScript's own pre-parser. */
function importsOf(file: string): Import[] {
  const text = readFileSync(file, 'utf8');
  const { importedFiles } = ts.preProcessFile(text, true, true);
  return importedFiles.map((f) => ({
    file: relative('.', file),
    spec: f.fileName,
    line: text.slice(0, f.pos).split('\n').length,
  }));
}

/** The src/ directory (layer name) a path lies in, or undefined outside src/. */
function layerOf(path: string): string | undefined {
  const rel = relative(SRC, path);
  if (rel.startsWith('..')) return undefined;
  const parts = rel.split(sep);
  return parts.length === 1 ? '(entry)' : parts[0];
}

const files = sourceFiles(SRC);
const imports = files.flatMap(importsOf);
const where = (i: Import) => `${i.file}:${i.line} imports '${i.spec}'`;

describe('the layer rule', () => {
  it('finds the imports it checks', () => {
    expect(files.length).toBeGreaterThan(10);
    expect(imports.map(where)).toContainEqual(
      expect.stringMatching(/^src\/runtime\/node\.ts:\d+ imports 'onnxruntime-node'$/),
    );
  });

  it('knows the layer of every directory under src/', () => {
    const unknown = [...new Set(files.map(layerOf))].filter((l) => l === undefined || !(l in LAYERS));
    expect(unknown, 'add new directories to LAYERS in test/layers.test.ts').toEqual([]);
  });

  it('keeps imports pointing down the layers', () => {
    const violations = imports.flatMap((i) => {
      if (!i.spec.startsWith('.')) return [];
      const from = layerOf(resolve(i.file)) as string;
      const to = layerOf(resolve(dirname(i.file), i.spec));
      if (to === undefined) return [];
      if ((LAYERS[to] as number) > (LAYERS[from] as number))
        return [`${where(i)}: ${from} (layer ${LAYERS[from]}) may not import ${to} (layer ${LAYERS[to]})`];
      if (FORBIDDEN.some(([a, b]) => a === from && b === to))
        return [`${where(i)}: ${from} may not import ${to}`];
      return [];
    });
    expect(violations).toEqual([]);
  });

  it('keeps src/graph free of Node built-ins and ONNX Runtime', () => {
    const violations = imports
      .filter((i) => layerOf(resolve(i.file)) === 'graph' && (isNodeBuiltin(i.spec) || isOnnxRuntime(i.spec)))
      .map(where);
    expect(violations).toEqual([]);
  });

  it('lets only src/runtime import ONNX Runtime', () => {
    const violations = imports
      .filter((i) => isOnnxRuntime(i.spec) && layerOf(resolve(i.file)) !== 'runtime')
      .map(where);
    expect(violations).toEqual([]);
  });
});
