/**
 * The README's examples of the in-memory API (trace, plotFrontier, a custom target), run as written: each
 * snippet below is a README code block, executed as a module that imports the package by its name.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

/** README, "From TypeScript" under "Models": one forward pass with its hooks. */
export const TRACE_SNIPPET = `import { loadModel, trace } from 'reverie';

const model = await loadModel('karpathy/tinyllamas/stories260K');
const { tokens, xent, logits_last, hooks } = await trace(model, 'Once upon a time', {
  hooks: ['blocks.1.mlp.hook_post'],
});
console.log(tokens.map((t) => t.text)); // [ '<s>', ' Once', ' upon', ' a', ' time' ]
console.log(xent.map((x) => x.toFixed(2))); // next-token cross-entropy: xent[t−1] = −log p(ids[t] | ids[<t])
console.log(logits_last.length, hooks['blocks.1.mlp.hook_post']!.length); // 512 5: [position][feature]
`;

/** README, "Dreaming" / "From TypeScript": the frontier of two runs as a figure. */
export const PLOT_FRONTIER_SNIPPET = `import { writeFileSync } from 'node:fs';
import { dream, loadModel, plotFrontier, svgToPng } from 'reverie';

const model = await loadModel('karpathy/tinyllamas/stories260K');
const target = 'blocks.4.mlp.hook_post[0]';
const runs = [];
for (const seed of [1, 2]) {
  const summary = await dream({ model, target, options: { iters: 20, seed } });
  runs.push({ label: \`seed \${seed}\`, summary }); // or runs opened from the store (RunReader.open)
}
const svg = plotFrontier(runs); // a colour per run, the legend, the frontier across them as a line
writeFileSync('frontier.svg', svg);
writeFileSync('frontier.png', svgToPng(svg)); // 2× resolution
console.log(\`wrote frontier.svg: \${runs.map((r) => \`\${r.label} \${r.summary.frontier.length} points\`).join(', ')}\`);
`;

/** README, "Targets": a target as a function of hooks. */
export const CUSTOM_TARGET_SNIPPET = `import { customTarget, dream, loadModel } from 'reverie';
import { mul, sub } from 'reverie/graph';

const model = await loadModel('karpathy/tinyllamas/stories260K');
const hook = 'blocks.4.mlp.hook_post';
// Neuron 0 of block 4 at the last position, less half of neuron 5 there: one number per sequence [B].
const contrast = customTarget({
  name: 'n0-minus-half-n5',
  hooks: [hook],
  value: (views) => sub(views.feature(hook, 0), mul(views.feature(hook, 5), 0.5)),
  model, // check the hook names now
});
const run = await dream({ model, target: contrast, options: { iters: 20, seed: 1 } });
console.log(run.target, run.frontier.at(-1)); // custom:n0-minus-half-n5 {ids, target, xent, text}

try {
  customTarget({ name: 'typo', hooks: ['blocks.4.mlp.hook_psot'], value: (v) => v.feature(hook, 0), model });
} catch (error) {
  console.log(String(error)); // TargetSpecError: custom:typo: unknown hook "blocks.4.mlp.hook_psot"; did you mean "blocks.4.mlp.hook_post"?
}
`;

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

  it('dreams on a custom target, and names a mistyped hook with the nearest valid one', () => {
    const out = runSnippet(CUSTOM_TARGET_SNIPPET);
    expect(out).toMatch(/^custom:n0-minus-half-n5 \{/);
    expect(out).toContain('text:');
    expect(out).toContain(
      'TargetSpecError: custom:typo: unknown hook "blocks.4.mlp.hook_psot"; did you mean "blocks.4.mlp.hook_post"?',
    );
  });
});
