import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

/** The TypeScript code blocks of a README section. */
function codeBlocks(section: string): string[] {
  const readme = readFileSync('README.md', 'utf8');
  const start = readme.indexOf(`## ${section}`);
  const end = readme.indexOf('\n## ', start + 1);
  const text = readme.slice(start, end < 0 ? undefined : end);
  return [...text.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1] as string);
}

/** Runs a README code block as a TypeScript module and returns what it printed. */
function runBlock(code: string): string {
  const dir = join('.tmp', 'readme');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `block-${process.pid}-${Math.random().toString(36).slice(2)}.ts`);
  writeFileSync(file, code);
  try {
    return execFileSync(process.execPath, ['--conditions=reverie-source', '--import', 'tsx', file], {
      encoding: 'utf8',
    });
  } finally {
    rmSync(file, { force: true });
  }
}

describe('the README', () => {
  it('shows an engine example that runs and computes a gradient', () => {
    const [example] = codeBlocks('The engine');
    expect(example).toBeDefined();
    const out = runBlock(example as string);
    expect(out).toContain('%0:f32[B,3] = Input "x"');
    expect(out).toMatch(/Float32Array\(1\) \[ 1\.49767/);
  });

  it('shows a dream from TypeScript that runs and returns a frontier', () => {
    const [example] = codeBlocks('Dreaming');
    expect(example).toBeDefined();
    const out = runBlock(example as string);
    expect(out).toContain('done');
    for (const field of ['ids: [', 'target:', 'xent:', 'text:']) expect(out).toContain(field);
    rmSync(join('.tmp', 'readme-dream'), { recursive: true, force: true });
  });
});
