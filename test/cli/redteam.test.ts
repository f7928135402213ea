/** `reverie redteam` and the dream's --template and --loss from the command line. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const CORPUS = '../shared/corpora/tinystories/validation-head.txt';
const dir = mkdtempSync(join(tmpdir(), 'reverie-redteam-'));
const store = join(dir, 'reverie.db');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const run = (args: string[]) => {
  const r = spawnSync(process.execPath, ['bin/reverie.js', ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};
const OPENING = 'Once upon a time, there was a little';
const SMALL = ['--seq-len', '9', '--population', '2', '--children', '4', '--iters', '30', '--plain'];

describe('reverie redteam', () => {
  it('reports the success, the prompt against the filter and the frontier, and stores the run', () => {
    const args = ['redteam', '--text', ' girl named Lily.', '--initial', OPENING, '--max-xent', '5.5'];
    const r = run([...args, ...SMALL, '--store', store, '--name', 'girl']);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toMatch(
      /^success after 0 iterations, \d+\.\d s: "Once upon a time, there was a little" {2}xent \d\.\d{3} ≤ 5\.500 \(passes the filter\)$/,
    );
    expect(lines[2]).toMatch(/^frontier of continuation-margin: girl named Lily\. \(\d+ evaluations, /);
    expect(r.stderr).toMatch(
      /run 1 in .*reverie\.db: red-teaming " girl named Lily\." on karpathy\/tinyllamas\/stories260K, filter xent ≤ 5\.500 \(--max-xent\)/,
    );
    const shown = run(['show', 'girl', '--store', store, '--json']);
    expect(shown.code, shown.stderr).toBe(0);
    const summary = JSON.parse(shown.stdout) as { target: string; goal: { reached: { iterations: number } } };
    expect(summary.target).toBe('continuation-margin: girl named Lily.');
    expect(summary.goal.reached.iterations).toBe(0);
  }, 60_000);

  it('takes its filter from a corpus quantile, and says when nothing succeeded', () => {
    const args = ['redteam', '--text', ' The dog ran to the park.', '--quantile', '0.95', '--corpus', CORPUS];
    const r = run([...args, '--max-tokens', '2000', ...SMALL, '--iters', '3', '--store', store]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(
      /filter xent ≤ \d\.\d{3} \(quantile 0\.95 of [\d,]+ windows of .*validation-head\.txt\)/,
    );
    expect(r.stdout.split('\n')[0]).toMatch(/^no success within the filter after 3 iterations, \d+\.\d s$/);
  }, 120_000);

  it('names bad input: no text, an empty one, a filter given twice or half, a bad template, a text that does not tokenize', () => {
    const cases: [string[], RegExp][] = [
      [[], /--text is required/],
      [['--text', ''], /--text is empty/],
      [
        ['--text', ' x.', '--max-xent', '5', '--quantile', '0.9', '--corpus', CORPUS],
        /--max-xent and --quantile both set the filter/,
      ],
      [['--text', ' x.', '--quantile', '0.9'], /--quantile needs the --corpus/],
      [['--text', ' x.', '--corpus', CORPUS], /--corpus gives --quantile's windows; give --quantile too/],
      [['--text', ' x.', '--loss', 'max'], /--loss must be mean, min, mellowmax, margin; got "max"/],
      [
        ['--text', ' x.', '--template', 'no slot'],
        /TemplateError: the template "no slot" holds 0 \{prompt\}/,
      ],
      [['--text', 'lily'], /TargetSpecError: .*"lily" does not tokenize as given/],
    ];
    for (const [args, message] of cases) {
      const r = run(['redteam', ...args, '--store', store]);
      expect(r.code, args.join(' ')).not.toBe(0);
      expect(r.stderr).toMatch(message);
    }
  });
});

describe('reverie dream with fixed context', () => {
  it('dreams inside templates, and sets a continuation target’s loss with --loss', () => {
    const r = run([
      'dream',
      '--target',
      'continuation: and they were happy.',
      '--loss',
      'min',
      '--template',
      'Once upon a time{prompt}',
      '--template',
      'Lily saw{prompt}.',
      ...SMALL,
      '--iters',
      '2',
      '--store',
      store,
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout) as { target: string; options: { templates: string[] } };
    expect(summary.target).toBe('continuation-min: and they were happy.');
    expect(summary.options.templates).toEqual(['Once upon a time{prompt}', 'Lily saw{prompt}.']);
    const wrong = run(['dream', '--loss', 'min', '--iters', '1', '--store', store]);
    expect(wrong.stderr).toMatch(
      /--loss min is for continuation:TEXT targets; the target is blocks\.4\.mlp\.hook_post\[0\]/,
    );
  }, 60_000);
});
