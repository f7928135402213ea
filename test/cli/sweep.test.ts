/**
 * `reverie sweep` end to end on stories260K: a sweep killed with SIGKILL mid-dream and resumed keeps every
 * feature it had finished (same runs, attributions and results) and ends as a sweep that never stopped;
 * one process runs a sweep at a time; --show prints the table read back from the store; ls and rm --sweep.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/store/database.ts';
import { exited, readStore, sleep } from '../helpers/processes.ts';
import { findRun } from '../../src/store/runs.ts';
import { findSweep, sweepFeatures, type SweepFeatureRow } from '../../src/store/sweeps.ts';

const dir = mkdtempSync(join(tmpdir(), 'reverie-cli-sweep-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const store = join(dir, 'reverie.db');

const CORPUS = '../shared/corpora/tinystories/validation-head.txt';
const ITERS = 40;
const SWEEP = [
  'sweep',
  '--target',
  'blocks.2.mlp.hook_post[0:4]',
  '--corpus',
  CORPUS,
  '--max-tokens',
  '3000',
  '--top',
  '16',
  '--iters',
  String(ITERS),
  '--population',
  '4',
  '--children',
  '8',
  '--topk',
  '32',
  '--store',
  store,
];

const reverie = (args: string[]): ChildProcess =>
  spawn(process.execPath, ['bin/reverie.js', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });

const run = (args: string[]) => {
  const result = spawnSync(process.execPath, ['bin/reverie.js', ...args], { encoding: 'utf8' });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
};

const read = <T>(f: (db: Db) => T): T => readStore(store, f);

/** What a feature's result is, without the seconds it took. */
const outcome = (f: SweepFeatureRow) => {
  const { seconds: _, ...rest } = f.result ?? ({} as NonNullable<SweepFeatureRow['result']>);
  return { target: f.target, status: f.status, ...rest };
};

describe('reverie sweep', () => {
  it('killed with SIGKILL mid-dream and resumed, re-runs no finished feature and ends as an unbroken sweep', async () => {
    const child = reverie([...SWEEP, '--name', 'killed', '--jobs', '2']);
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    // Wait for a finished feature while another's dream is under way (its run has iterations, not all).
    let before: SweepFeatureRow[] = [];
    for (;;) {
      expect(child.exitCode, stderr).toBeNull();
      await sleep(20);
      const state = (() => {
        try {
          return read((db) => {
            const features = sweepFeatures(db, findSweep(db, 'killed').id);
            const midway = features.some(
              (f) => f.status === 'pending' && f.runId !== null && findRun(db, f.runId).iterations > 2,
            );
            return { features, midway };
          });
        } catch {
          return undefined; // the store or the sweep is not there yet
        }
      })();
      if (state && state.features.some((f) => f.status === 'finished') && state.midway) {
        before = state.features;
        break;
      }
    }
    // One process runs a sweep at a time. The sweep holds still meanwhile (its workers finish at most the
    // dreams in flight), so that it cannot end before it is killed, however fast the machine.
    child.kill('SIGSTOP');
    const second = run(['sweep', '--resume', 'killed', '--store', store]);
    expect(second.code).not.toBe(0);
    expect(second.stderr).toMatch(/SweepBusyError: sweep \d+ \(killed\) is being run by process/);

    child.kill('SIGKILL');
    await exited(child);
    const killed = read((db) => findSweep(db, 'killed'));
    expect(killed.status).toBe('interrupted');
    const finishedBefore = read((db) => sweepFeatures(db, killed.id)).filter((f) => f.status === 'finished');
    expect(finishedBefore.length).toBeGreaterThanOrEqual(1);
    const midway = before.filter((f) => f.status === 'pending' && f.runId !== null);

    const resumed = run(['sweep', '--resume', 'killed', '--store', store]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(/features finished, going on/);
    const after = read((db) => sweepFeatures(db, killed.id));
    expect(after.every((f) => f.status === 'finished')).toBe(true);
    expect(read((db) => findSweep(db, killed.id)).status).toBe('finished');
    // Finished features untouched: the same run, attribution and result (seconds included).
    for (const f of finishedBefore) expect(after[f.rank]).toEqual(f);
    // A dream cut short went on in its own run, to the end.
    for (const f of midway) {
      expect(after[f.rank]?.runId).toBe(f.runId);
      expect(read((db) => findRun(db, f.runId as number)).iterations).toBe(ITERS);
    }
    for (const f of after) {
      expect(f.attributionId).not.toBeNull();
      expect(read((db) => findRun(db, f.runId as number).status)).toBe('finished');
    }

    // The same sweep, never stopped, ends with the same results.
    const whole = run([...SWEEP, '--name', 'whole', '--jobs', '1']);
    expect(whole.code, whole.stderr).toBe(0);
    const unbroken = read((db) => sweepFeatures(db, findSweep(db, 'whole').id));
    expect(after.map(outcome)).toEqual(unbroken.map(outcome));
  }, 600_000);

  it('--show prints the table read back from the store, ls lists the sweep, rm --sweep deletes it all', () => {
    const shown = run(['sweep', '--show', 'whole', '--store', store]);
    expect(shown.code, shown.stderr).toBe(0);
    const lines = shown.stdout.trim().split('\n');
    expect(lines[0]).toMatch(
      /^sweep \d+ \(whole\): blocks\.2\.mlp\.hook_post\[0:4\] on .*stories260K, finished/,
    );
    const features = read((db) => sweepFeatures(db, findSweep(db, 'whole').id));
    features.forEach((f, i) => {
      const line = lines[2 + i] as string;
      expect(line).toMatch(new RegExp(`^\\s+${i}\\s+${f.result?.topExample.activation.toFixed(3)}`));
      expect(line.endsWith(f.result?.win ? 'yes' : 'no')).toBe(true);
    });
    const wins = features.filter((f) => f.result?.win).length;
    expect(lines.at(-1)).toMatch(new RegExp(`^wins: ${wins} of 4 features`));

    const json = run(['sweep', '--show', 'whole', '--json', '--store', store]);
    expect(JSON.parse(json.stdout).features).toEqual(features);

    const ls = run(['ls', '--store', store]);
    expect(ls.stdout).toMatch(/8 run\(s\) \(8 of sweeps: --all lists them\)/);
    expect(ls.stdout).toMatch(
      /sweep \d+ whole: blocks\.2\.mlp\.hook_post\[0:4\] on .*, finished, wins: \d+ of 4/,
    );
    expect(run(['ls', '--all', '--store', store]).stdout).toMatch(/sweep-\d+-3/);

    const rm = run(['rm', '--sweep', 'whole', '--store', store]);
    expect(rm.stdout).toMatch(/removed sweep \d+ whole \(4 features\)/);
    expect(run(['ls', '--store', store]).stdout).toMatch(/4 run\(s\) \(4 of sweeps/);
    expect(run(['sweep', '--show', 'whole', '--store', store]).stderr).toMatch(/no sweep named "whole"/);
  }, 120_000);

  it('names bad input before any work', () => {
    const none = run(['sweep', '--corpus', CORPUS, '--store', store]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/--target is required/);
    const logit = run(['sweep', '--target', 'logit:the', '--corpus', CORPUS, '--store', store]);
    expect(logit.code).not.toBe(0);
    expect(logit.stderr).toMatch(/TargetSpecError/);
    const resume = run(['sweep', '--resume', 'killed', '--iters', '5', '--store', store]);
    expect(resume.code).toBe(2);
    expect(resume.stderr).toMatch(/--resume killed goes on as the sweep was asked: drop --iters/);
    const jobs = run(['sweep', '--resume', 'killed', '--jobs', '0', '--store', store]);
    expect(jobs.code).toBe(2);
    expect(jobs.stderr).toMatch(/--jobs/);
  });
});
