/**
 * The store from the command line: runs killed at random moments (SIGKILL) and resumed end where an
 * uninterrupted run ends; one writer per run; ls, show, export, import and rm.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/cli.ts';
import type { IterationRecord } from '../../src/dream/epo.ts';
import { Rng } from '../../src/graph/rng.ts';
import type { Db } from '../../src/store/database.ts';
import { exited, readStore, sleep } from '../helpers/processes.ts';
import { findRun, runHistory } from '../../src/store/runs.ts';

const dir = mkdtempSync(join(tmpdir(), 'reverie-cli-store-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const store = join(dir, 'reverie.db');

const SETTINGS = ['--population', '3', '--children', '8', '--topk', '32', '--threads', '1', '--store', store];
const TOTAL = 150;

const reverie = (args: string[]): ChildProcess =>
  spawn(process.execPath, ['bin/reverie.js', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });

/** Resolves when the child's stderr shows `pattern` (true), or it exits first (false). */
function waitFor(child: ChildProcess, pattern: RegExp): Promise<boolean> {
  return new Promise((resolve) => {
    let text = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      if (pattern.test(text)) resolve(true);
    });
    child.on('exit', () => resolve(false));
  });
}

const read = <T>(f: (db: Db) => T): T => readStore(store, f);

const untimed = (history: Iterable<IterationRecord>) => [...history].map(({ seconds: _, ...rest }) => rest);

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const log = vi.spyOn(console, 'log').mockImplementation(() => {});
  const error = vi.spyOn(console, 'error').mockImplementation(() => {});
  const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    const code = await main(args);
    return {
      code,
      stdout: log.mock.calls.map((c) => c.join(' ')).join('\n'),
      stderr: [...error.mock.calls.map((c) => c.join(' ')), ...err.mock.calls.map((c) => String(c[0]))].join(
        '\n',
      ),
    };
  } finally {
    vi.restoreAllMocks();
  }
}

describe('a run killed at random moments', () => {
  it('loses at most the iteration in flight, and resumed ends where an uninterrupted run ends', async () => {
    const rng = new Rng(2026);
    expect(
      spawnSync(process.execPath, [
        'bin/reverie.js',
        'dream',
        '--iters',
        '0',
        '--name',
        'killed',
        ...SETTINGS,
      ]).status,
    ).toBe(0);
    let kills = 0;
    let done = read((db) => findRun(db, 'killed').iterations);
    while (done < TOTAL) {
      const child = reverie(['dream', '--resume', 'killed', '--iters', String(TOTAL - done), ...SETTINGS]);
      // Mostly a few iterations into the call (watched in the store), at a random moment of an iteration;
      // now and then at any moment of its start.
      if (rng.uniform(0, 1) < 0.2) await sleep(rng.uniform(0, 2500));
      else {
        const goal = done + 1 + rng.int(10);
        while (child.exitCode === null && read((db) => findRun(db, 'killed').iterations) < goal)
          await sleep(5);
        await sleep(rng.uniform(0, 20));
      }
      if (child.kill('SIGKILL')) kills++;
      await exited(child);
      const now = read((db) => findRun(db, 'killed'));
      expect(now.iterations).toBeGreaterThanOrEqual(done);
      expect(now.writer).toBeNull(); // the dead owner holds nothing
      done = now.iterations;
      if (kills > 60) break;
    }
    expect(kills).toBeGreaterThanOrEqual(20);
    expect(done).toBe(TOTAL);
    const whole = spawnSync(process.execPath, [
      'bin/reverie.js',
      'dream',
      '--iters',
      String(TOTAL),
      '--name',
      'whole',
      ...SETTINGS,
    ]);
    expect(whole.status, whole.stderr.toString()).toBe(0);
    read((db) => {
      const a = untimed(runHistory(db, findRun(db, 'killed').id));
      const b = untimed(runHistory(db, findRun(db, 'whole').id));
      expect(a.map((r) => r.iter)).toEqual([...Array(TOTAL).keys()]);
      expect(a).toEqual(b);
    });
  }, 600_000);

  it('has one writer: a second --resume of a running run is a RunBusyError; SIGTERM stops it cleanly', async () => {
    const first = reverie(['dream', '--resume', 'whole', '--iters', '100000', ...SETTINGS]);
    expect(await waitFor(first, /iter \d+\//)).toBe(true);
    const second = spawnSync(
      process.execPath,
      ['bin/reverie.js', 'dream', '--resume', 'whole', '--iters', '1', ...SETTINGS],
      {
        encoding: 'utf8',
      },
    );
    expect(second.status).toBe(1);
    expect(second.stderr).toMatch(
      /^reverie: RunBusyError: run \d+ \(whole\) is being written by process \d+/m,
    );
    first.kill('SIGTERM');
    expect(await exited(first)).toBe(0);
    const row = read((db) => findRun(db, 'whole'));
    expect(row).toMatchObject({ status: 'stopped', writer: null });
    expect(row.iterations).toBeGreaterThan(TOTAL);
  }, 120_000);
});

describe('reverie ls, show, export, import and rm', () => {
  it('list, show, export to files, import them back as a new run, and delete', async () => {
    const ls = await cli('ls', '--store', store, '--json');
    const runs = (JSON.parse(ls.stdout) as { runs: { name: string }[] }).runs.map((r) => r.name);
    expect(runs).toEqual(['whole', 'killed']);
    expect((await cli('ls', '--store', store)).stdout).toMatch(/killed +(finished|interrupted) +150 /); // interrupted: killed after its last iteration;
    const shown = await cli('show', 'killed', '--store', store);
    expect(shown.stdout).toMatch(/^run 1 \(killed\): blocks\.4\.mlp\.hook_post\[0\]/);
    expect(shown.stdout).toContain('150 of 150 iterations');
    const out = join(dir, 'export');
    expect((await cli('export', 'killed', '--out', out, '--store', store)).code).toBe(0);
    const again = await cli('export', 'killed', '--out', out, '--store', store);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/StoreError: .*export is not empty/);
    expect((await cli('export', 'killed', '--out', out, '--force', '--store', store)).code).toBe(0);
    expect(readFileSync(join(out, 'history.jsonl'), 'utf8').trim().split('\n')).toHaveLength(TOTAL);
    const imported = await cli('import', out, '--name', 'copy', '--store', store);
    expect(imported.stdout).toMatch(/^imported .* as run 3: blocks\.4\.mlp\.hook_post\[0\], 150 iterations/);
    read((db) => expect(untimed(runHistory(db, 3))).toEqual(untimed(runHistory(db, 1))));
    const frontier = await cli('frontier', 'copy', out, '--store', store, '--json');
    expect(frontier.code, frontier.stderr).toBe(0);
    expect((await cli('rm', 'copy', '--store', store)).stdout).toBe('removed run 3 copy');
    const gone = await cli('show', 'copy', '--store', store);
    expect(gone.stderr).toMatch(/RunNotFoundError: no run named "copy"/);
    read((db) =>
      expect(db.prepare('SELECT count(*) AS n FROM iterations WHERE run_id = 3').get()).toEqual({ n: 0 }),
    );
  });

  it('keep scans and attributions: a scan by its id stands for its file', async () => {
    const scanned = await cli(
      ...[
        'scan',
        '-t',
        'blocks.4.mlp.hook_post[0]',
        '-c',
        '../shared/corpora/tinystories/validation-head.txt',
      ],
      ...['--max-tokens', '2000', '--top', '8', '--threads', '1', '--store', store, '--json'],
    );
    expect(scanned.code, scanned.stderr).toBe(0);
    const id = /scan (\d+) in /.exec(scanned.stderr)?.[1] as string;
    const listed = JSON.parse((await cli('ls', '--store', store, '--json')).stdout) as {
      scans: { id: number; examples: number }[];
    };
    expect(listed.scans).toEqual([expect.objectContaining({ id: Number(id), examples: 8 })]);
    const compared = await cli('compare', '--runs', 'killed', '--scan', id, '--store', store, '--json');
    expect(compared.code, compared.stderr).toBe(0);
    expect(JSON.parse(compared.stdout)).toHaveProperty('medianDatasetXent');
    const attributed = await cli('attribute', '--run', 'killed', '--k', '2', '--store', store, '--json');
    expect(attributed.code, attributed.stderr).toBe(0);
    read((db) =>
      expect(db.prepare('SELECT run_id, target FROM attributions').all()).toEqual([
        { run_id: 1, target: 'blocks.4.mlp.hook_post[0]' },
      ]),
    );
  });
});
