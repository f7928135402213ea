/**
 * The CLI's error paths: bad numbers, bad and missing files, directories for files, bad targets, empty corpora.
 * Each must end the command with a non-zero exit code and one line `reverie: SomeError: …` naming the file
 * where one is involved: never a stack trace, a bare Error, a TypeError or SyntaxError, or a raw errno.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/cli.ts';

const BIN = resolve('bin/reverie.js');
const MODEL_PATH = resolve(process.env.REVERIE_MODEL_PATH ?? '../shared/models');
const T = 'blocks.4.mlp.hook_post[0]';

// Every command runs in a directory of its own, so that one that wrongly succeeds writes nothing elsewhere.
const dir = mkdtempSync(join(tmpdir(), 'reverie-cli-errors-'));
const cwd = process.cwd();
const path = (name: string) => join(dir, name);
beforeAll(() => {
  process.env.REVERIE_MODEL_PATH = MODEL_PATH;
  process.chdir(dir);
  writeFileSync(path('stories.txt'), 'Once upon a time, there was a little girl named Lily.\n');
  writeFileSync(path('empty.txt'), '\n\n');
  writeFileSync(path('weights.bin'), Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0x00, 0x01]));
  writeFileSync(path('bad.jsonl'), '{"text": "hi"}\n{not json\n');
  writeFileSync(path('truncated.json'), '{"model": ');
  mkdirSync(path('a-directory'));
});
afterAll(() => {
  process.chdir(cwd);
  rmSync(dir, { recursive: true, force: true });
});

interface Case {
  args: string[];
  /** The error's class. */
  error: string;
  /** What the message must say: the file involved, or the option and what was wrong. */
  says: string | RegExp;
}

const NUMBERS: Case[] = [
  { args: ['dream', '--population', '0x10'], error: 'UsageError', says: '--population must be' },
  { args: ['dream', '--seq-len', ''], error: 'UsageError', says: '--seq-len must be' },
  { args: ['dream', '--iters', '12abc'], error: 'UsageError', says: 'got "12abc"' },
  { args: ['dream', '--penalty-min', 'NaN'], error: 'UsageError', says: '--penalty-min must be' },
  { args: ['dream', '--time-limit', 'Infinity'], error: 'UsageError', says: 'got "Infinity"' },
  { args: ['dream', '--seed=-1'], error: 'UsageError', says: '(negative)' },
  { args: ['dream', '--children', '2.5'], error: 'UsageError', says: '(not an integer)' },
  { args: ['dream', '--max-evaluations', '1e20'], error: 'UsageError', says: 'got "1e20"' },
  { args: ['dream', '--threads', '1000'], error: 'UsageError', says: "(the machine's cores)" },
  { args: ['scan', '-t', T, '-c', 'stories.txt', '--threads', '0'], error: 'UsageError', says: '--threads' },
  { args: ['scan', '-t', T, '-c', 'stories.txt', '--top', '-3'], error: 'UsageError', says: '--top' },
  { args: ['generate', '--temperature=-1'], error: 'UsageError', says: '--temperature must be' },
  { args: ['generate', '--max-tokens', '1.5'], error: 'UsageError', says: '--max-tokens must be' },
  { args: ['trace', '--prompt', 'hi', '--top', 'ten'], error: 'UsageError', says: '--top must be' },
  {
    args: ['attribute', '-t', T, '-p', 'hi', '--batch', '1e3'],
    error: 'UsageError',
    says: '--batch must be',
  },
];

const RESOURCES: Case[] = [
  { args: ['dream', '--population', '100000'], error: 'OptionsError', says: 'more than its 1.0 GiB' },
  { args: ['dream', '--children', '1000000'], error: 'OptionsError', says: '--children' },
  { args: ['dream', '--seq-len', '600'], error: 'OptionsError', says: "the model's context of 512" },
  { args: ['dream', '--topk', '100000'], error: 'OptionsError', says: "the model's vocabulary of 512" },
  { args: ['scan', '-t', T, '-c', 'stories.txt', '--window', '600'], error: 'ScanError', says: '512' },
];

const FILES: Case[] = [
  { args: ['dream', '--model', 'no-such-model'], error: 'ModelNotFoundError', says: 'no-such-model' },
  { args: ['dream', '--model', 'a-directory'], error: 'ModelNotFoundError', says: 'a-directory' },
  { args: ['dream', '--init-from', 'missing.json'], error: '', says: 'missing.json' },
  { args: ['dream', '--against', 'a-directory'], error: '', says: 'a-directory' },
  { args: ['dream', '--against', 'truncated.json'], error: '', says: 'truncated.json' },
  { args: ['dream', '--resume', 'no-such-run'], error: '', says: 'no-such-run' },
  { args: ['dream', '--out', 'stories.txt'], error: '', says: 'stories.txt' },
  { args: ['scan', '-t', T, '-c', 'missing.txt'], error: 'CorpusNotFoundError', says: 'missing.txt' },
  { args: ['scan', '-t', T, '-c', 'a-directory'], error: 'CorpusNotFoundError', says: 'a-directory' },
  { args: ['scan', '-t', T, '-c', 'empty.txt'], error: 'EmptyCorpusError', says: 'empty.txt' },
  { args: ['scan', '-t', T, '-c', 'weights.bin'], error: 'BinaryCorpusError', says: 'weights.bin' },
  { args: ['scan', '-t', T, '-c', 'bad.jsonl'], error: 'CorpusFormatError', says: 'bad.jsonl' },
  {
    args: ['scan', '-t', T, '-c', 'stories.txt', '--out', 'nope/scan.json'],
    error: 'OutputPathError',
    says: 'nope',
  },
  {
    args: ['scan', '-t', T, '-c', 'stories.txt', '--out', 'a-directory'],
    error: 'OutputPathError',
    says: 'a-directory',
  },
  { args: ['attribute', '-t', T, '--run', 'no-such-run'], error: '', says: 'no-such-run' },
  { args: ['compare', '--runs', 'no-such-run', '--scan', 'truncated.json'], error: '', says: 'no-such-run' },
  { args: ['frontier', 'no-such-run'], error: '', says: 'no-such-run' },
];

const OTHERS: Case[] = [
  { args: ['dream', '--target', 'blocks.99.mlp.hook_post[0]'], error: 'TargetSpecError', says: 'layer 99' },
  {
    args: ['dream', '--target', 'blocks.2.mlp.hook_pots[3]'],
    error: 'TargetSpecError',
    says: 'did you mean',
  },
  {
    args: ['scan', '-t', 'blocks.4.mlp.hook_post[9999]', '-c', 'stories.txt'],
    error: 'TargetSpecError',
    says: '9999',
  },
  { args: ['scan', '-c', 'stories.txt'], error: 'UsageError', says: '--target is required' },
  { args: ['trace', '--ids', '1,2,99999'], error: 'UsageError', says: '"99999"' },
  {
    args: ['trace', '--prompt', 'hi', '--hooks', 'blocks.99.bad'],
    error: 'UnknownHookError',
    says: 'blocks.99.bad',
  },
  { args: ['dream', '--preset', 'fast'], error: 'UsageError', says: '--preset must be' },
  { args: ['frontier', '--method', 'best', 'run'], error: 'UsageError', says: '--method must be' },
  { args: ['dream', '--bogus'], error: 'UsageError', says: "'--bogus'" },
  { args: ['dream!'], error: 'UsageError', says: 'unknown command' },
];

/** What a failed command must look like, whether run in process or as a process. */
function expectNamedFailure(code: number | null, output: string, { args, error, says }: Case): void {
  const lines = output.split('\n').filter((line) => line.startsWith('reverie:'));
  expect(code, output).not.toBe(0);
  expect(lines, output).toHaveLength(1);
  const [, name, message] = /^reverie: (\w+): (.*)$/.exec(lines[0]!) ?? [];
  expect(name, output).toMatch(/^[A-Z]\w*Error$/);
  expect(['Error', 'TypeError', 'SyntaxError', 'RangeError', 'ReferenceError']).not.toContain(name);
  if (error) expect(name).toBe(error);
  expect(message).toEqual(
    typeof says === 'string' ? expect.stringContaining(says) : expect.stringMatching(says),
  );
  expect(output).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m); // a stack trace
  expect(output).not.toMatch(/\b(ENOENT|EISDIR|ENOTDIR|EACCES|EPERM)\b/);
  if (args[0] === 'dream') expect(output).not.toContain('dreaming'); // refused before anything is printed
}

/** Runs the CLI in process: its exit code, and everything it printed, in order. */
async function reverie(args: string[]): Promise<{ code: number; output: string }> {
  const printed: string[] = [];
  const capture = (...parts: unknown[]) => void printed.push(parts.map(String).join(' '));
  const spies = [
    vi.spyOn(console, 'log').mockImplementation(capture),
    vi.spyOn(console, 'error').mockImplementation(capture),
    vi.spyOn(process.stdout, 'write').mockImplementation((s) => (capture(s), true)),
    vi.spyOn(process.stderr, 'write').mockImplementation((s) => (capture(s), true)),
  ];
  try {
    const code = await main(args);
    return { code, output: printed.join('\n') };
  } finally {
    for (const spy of spies) spy.mockRestore();
  }
}

const title = (c: Case) => `reverie ${c.args.map((a) => (a === '' ? "''" : a)).join(' ')}`;

describe.each([
  ['bad numbers', NUMBERS],
  ['more than the model or the memory allow', RESOURCES],
  ['bad, missing or misplaced files', FILES],
  ['bad targets and other mistakes', OTHERS],
])('the CLI refuses %s', (_, cases) => {
  it.each(cases.map((c) => [title(c), c] as const))('%s', async (_title, c) => {
    const { code, output } = await reverie(c.args);
    expectNamedFailure(code, output, c);
  });
});

describe('the reverie executable', () => {
  it.each([NUMBERS[0]!, RESOURCES[0]!, FILES[7]!].map((c) => [title(c), c] as const))(
    'prints one line for %s, with the exit code of its kind of error',
    (_title, c) => {
      const result = spawnSync(process.execPath, [BIN, ...c.args], {
        cwd: dir,
        encoding: 'utf8',
        env: { ...process.env, REVERIE_MODEL_PATH: MODEL_PATH },
        timeout: 60_000,
      });
      expectNamedFailure(result.status, result.stderr + result.stdout, c);
      expect(result.status).toBe(c.error === 'CorpusNotFoundError' ? 1 : 2);
    },
  );
});
