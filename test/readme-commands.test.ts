/**
 * The README stays true: every `npx reverie` line of its sh blocks runs, in order, in one fresh folder beside
 * ../shared (as a clone has it), and must succeed; a line whose comment says `(doc test: ARGS)` runs shortened
 * (the ARGS appended, and overriding). The worked example's printed output must hold every line the README
 * shows of it (times aside). `npm` lines (the set-up, the benchmarks) are not run here. No command may write
 * into the repository.
 */
import { execSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const README = readFileSync('README.md', 'utf8');
const BIN = resolve('bin/reverie.js');
const root = mkdtempSync(join(tmpdir(), 'reverie-readme-'));
const cwd = join(root, 'work');
mkdirSync(cwd);
symlinkSync(resolve('../shared'), join(root, 'shared'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

interface Line {
  command: string;
  section: string;
}

/** The `npx reverie` lines of the README's sh blocks, continuations joined, with the section of each. */
function commands(): Line[] {
  const lines: Line[] = [];
  let section = '';
  let inSh = false;
  let pending = '';
  for (const line of README.split('\n')) {
    if (line.startsWith('#') && !inSh) section = line.replace(/^#+ /, '');
    if (line.startsWith('```')) {
      inSh = line === '```sh';
      continue;
    }
    if (!inSh) continue;
    pending += line.endsWith('\\') ? `${line.slice(0, -1)} ` : line;
    if (line.endsWith('\\')) continue;
    if (pending.startsWith('npx reverie ')) lines.push({ command: pending, section });
    pending = '';
  }
  return lines;
}

/** The command as bash runs it: the repository's CLI, a `(doc test: …)` directive's arguments appended. */
function shell(command: string): string {
  const directive = /\(doc test: ([^)]*)\)/.exec(command)?.[1] ?? '';
  const bare = command.replace(/\s+#.*$/, '');
  return `${bare.replace(/^npx reverie /, `node ${BIN} `)} ${directive}`.trim();
}

const env = {
  ...process.env,
  REVERIE_MODEL_PATH: resolve(process.env.REVERIE_MODEL_PATH ?? '../shared/models'),
  REVERIE_STORE: '',
  FORCE_COLOR: '0',
};
delete (env as Record<string, string | undefined>).REVERIE_STORE; // ./reverie.db of the fresh folder

/** The lines the README shows of a section's output: its plain ``` blocks (after its sh block). */
function shownOutput(section: string): string[] {
  const start = README.indexOf(`### ${section}`);
  const end = README.indexOf('\n## ', start + 1);
  const shown: string[] = [];
  let fence: string | undefined;
  for (const line of README.slice(start, end < 0 ? undefined : end).split('\n')) {
    if (line.startsWith('```')) fence = fence === undefined ? line : undefined;
    else if (fence === '```' && line.trim() !== '' && line.trim() !== '…') shown.push(line);
  }
  return shown;
}

/** Times differ from run to run; everything else must not. */
const timeless = (text: string) => text.replace(/\d[\d.]* s\b/g, 'N s');

describe('the README’s commands', () => {
  const outputs = new Map<string, string>();
  const tracked = execSync('git status --porcelain --untracked-files=no', { encoding: 'utf8' });

  it.each(commands().map((c) => [c.command, c] as const))(
    '%s',
    (_, { command, section }) => {
      const result = spawnSync('bash', ['-c', shell(command)], {
        cwd,
        env,
        encoding: 'utf8',
        timeout: 600_000,
      });
      expect(result.status, `${command}\n${result.stderr}`).toBe(0);
      outputs.set(section, (outputs.get(section) ?? '') + result.stdout);
    },
    600_000,
  );

  it('print what the worked example shows', () => {
    const section = 'Worked example: a "thank you" neuron of stories260K';
    const printed = timeless(outputs.get(section) ?? '');
    const shown = shownOutput(section);
    expect(shown.length).toBeGreaterThan(10);
    for (const line of shown) expect(printed, line).toContain(timeless(line));
  });

  it('write nothing into the repository', () => {
    expect(execSync('git status --porcelain --untracked-files=no', { encoding: 'utf8' })).toBe(tracked);
  });
});
