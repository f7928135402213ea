/**
 * The README's examples of the in-memory API (trace, plotFrontier, a custom target), run as written: each is
 * read from a README code block and executed as a module that imports the package by its name.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

/** tsx's loader, by URL: the snippets run in another working directory. */
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

const work = mkdtempSync(join(tmpdir(), 'reverie-api-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/**
 * Runs a snippet as a TypeScript module inside the package (so that `reverie` resolves to it, from source:
 * the `reverie-source` export condition) with `cwd` as its working directory; returns what it printed.
 */
function runSnippet(code: string, cwd = work): string {
  const dir = join('.tmp', 'api');
  mkdirSync(dir, { recursive: true });
  const file = resolve(dir, `snippet-${process.pid}-${Math.random().toString(36).slice(2)}.ts`);
  writeFileSync(file, code);
  try {
    return execFileSync(process.execPath, ['--conditions=reverie-source', '--import', TSX, file], {
      cwd,
      encoding: 'utf8',
      env: {
        ...process.env,
        REVERIE_MODEL_PATH: (process.env.REVERIE_MODEL_PATH ?? '../shared/models')
          .split(':')
          .map((p) => resolve(p))
          .join(':'),
      },
    });
  } finally {
    rmSync(file, { force: true });
  }
}

/** The README's ts code blocks: the snippets below are read from it, so that what it shows is what runs. */
const README_BLOCKS = [...readFileSync('README.md', 'utf8').matchAll(/```ts\n([\s\S]*?)```/g)].map(
  (m) => m[1] as string,
);
const snippet = (marker: string): string => {
  const found = README_BLOCKS.find((b) => b.includes(marker));
  if (!found) throw new Error(`no README ts block holds ${marker}`);
  return found;
};
/** "Models": one forward pass with its hooks. */
const TRACE_SNIPPET = snippet('await trace(');
/** "From TypeScript": the frontier of two runs as a figure. */
const PLOT_FRONTIER_SNIPPET = snippet('plotFrontier(');
/** "Targets": a target as a function of hooks. */
const CUSTOM_TARGET_SNIPPET = snippet('customTarget({');
/** "reverie sweep": a sweep from TypeScript, its table read back from the store. */
const SWEEP_SNIPPET = snippet('await sweep(');

describe('the README’s in-memory API', () => {
  it('traces a prompt: tokens, per-position cross-entropy, last logits and hooks, as reverie trace --json', () => {
    const out = runSnippet(TRACE_SNIPPET);
    expect(out).toContain("[ '<s>', ' Once', ' upon', ' a', ' time' ]");
    expect(out).toMatch(/\[ '\d\.\d\d', '\d\.\d\d', '\d\.\d\d', '\d\.\d\d' \]/);
    expect(out).toContain('512 5');
  });

  it('plots the frontier of two runs as SVG and PNG, a legend line per run', () => {
    const out = runSnippet(PLOT_FRONTIER_SNIPPET);
    expect(out).toMatch(/^wrote frontier\.svg: seed 1 \d+ points, seed 2 \d+ points$/m);
    const svg = readFileSync(join(work, 'frontier.svg'), 'utf8');
    expect(svg).toMatch(/● seed 1 \(\d+\)/);
    expect(svg).toMatch(/● seed 2 \(\d+\)/);
    expect(svg).toContain('nondominated frontier across runs');
    expect(readFileSync(join(work, 'frontier.png')).subarray(1, 4).toString()).toBe('PNG');
  });

  it('sweeps two neurons on worker processes and prints their table from the store', () => {
    copyFileSync('../shared/corpora/tinystories/validation-head.txt', join(work, 'tinystories.txt'));
    const out = runSnippet(SWEEP_SNIPPET);
    expect(out).toMatch(
      /^sweep \d+: blocks\.2\.mlp\.hook_post\[0:2\] on karpathy\/tinyllamas\/stories260K, finished/m,
    );
    expect(out).toMatch(/^wins: \d of 2 features/m);
  }, 300_000);

  it('dreams on a custom target, and names a mistyped hook with the nearest valid one', () => {
    const out = runSnippet(CUSTOM_TARGET_SNIPPET);
    expect(out).toMatch(/^custom:n0-minus-half-n5 \{/);
    expect(out).toContain('text:');
    expect(out).toContain(
      'TargetSpecError: custom:typo: unknown hook "blocks.4.mlp.hook_psot"; did you mean "blocks.4.mlp.hook_post"?',
    );
  });
});
