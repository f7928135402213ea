/** `reverie threshold` from the command line: its table, its JSON, and a bad quantile named. */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

const CORPUS = '../shared/corpora/tinystories/validation-head.txt';
const run = (args: string[]) => {
  const r = spawnSync(process.execPath, ['bin/reverie.js', 'threshold', ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};

describe('reverie threshold', () => {
  it('prints each quantile’s threshold and a histogram; --json the same numbers', () => {
    const args = ['--corpus', CORPUS, '--max-tokens', '800', '-q', '0.5', '-q', '0.99'];
    const table = run(args);
    expect(table.code, table.stderr).toBe(0);
    const lines = table.stdout.split('\n');
    expect(lines[0]).toMatch(/^cross-entropy of [\d,]+ windows of BOS \+ 12 tokens \(800 tokens, /);
    const json = run([...args, '--json']);
    const result = JSON.parse(json.stdout) as { thresholds: { q: number; xent: number }[]; windows: number };
    expect(result.thresholds.map((t) => t.q)).toEqual([0.5, 0.99]);
    expect(lines[1]).toBe(
      `  quantile 0.5    ${result.thresholds[0]?.xent.toFixed(3)}  (50.00% of windows at or below)`,
    );
    const bars = lines.filter((l) => /^\s+\d+\.\d\d–\d+\.\d\d\s/.test(l));
    expect(bars.length).toBeGreaterThan(3);
    expect(bars.reduce((n, l) => n + Number(l.split(' ').at(-1)), 0)).toBe(result.windows);
  }, 60_000);

  it('names a quantile outside (0, 1] and a missing corpus', () => {
    const bad = run(['--corpus', CORPUS, '-q', '99']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--quantile must be a number in \(0, 1\], got "99"/);
    expect(run([]).stderr).toMatch(/name at least one --corpus file/);
  });
});
