/**
 * `reverie serve` as a command: it prints its URL and serves the store there; bound to another address than
 * loopback it warns that the store becomes readable by the network; Ctrl-C (SIGINT) ends it cleanly, a
 * running dream stopped after its iteration and kept.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/database.ts';
import { findRun } from '../../src/store/runs.ts';
import { EventReader } from './fixture.ts';

const dir = mkdtempSync(join(tmpdir(), 'reverie-serve-cli-'));
const store = join(dir, 'reverie.db');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('reverie serve', () => {
  it('prints its URL, warns when bound beyond loopback, answers, and stops on Ctrl-C, keeping its dream', async () => {
    const child = spawn(
      process.execPath,
      ['bin/reverie.js', 'serve', '--port', '0', '--host', '0.0.0.0', '--store', store],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (c: Buffer) => {
        stdout += c.toString();
        const found = /http:\/\/[^\s]+/.exec(stdout)?.[0];
        if (found) resolve(found);
      });
      child.on('exit', (code) => reject(new Error(`reverie serve exited (${code}): ${stderr}`)));
    });
    expect(stderr).toMatch(/^warning: --host 0\.0\.0\.0 makes the store readable.*by the network/m);
    const base = `http://127.0.0.1:${new URL(url).port}`;
    const home = await fetch(`${base}/api/home`);
    expect(home.status).toBe(200);
    expect(((await home.json()) as { store: string }).store).toBe(store);

    const started = await fetch(`${base}/api/dreams`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Origin: base },
      body: JSON.stringify({ target: 'blocks.2.mlp.hook_post[0]', iters: 1000 }),
    });
    expect(started.status, await started.clone().text()).toBe(201);
    const { runId, events } = (await started.json()) as { runId: number; events: string };
    const stream = new EventReader(await fetch(`${base}${events}`));
    expect(await stream.until('iteration')).toBeDefined();
    const code = await new Promise<number | null>((resolve) => {
      child.on('exit', resolve);
      child.kill('SIGINT');
    });
    expect(code).toBe(0);
    expect(stderr).toContain('stopping: dreams end after their iteration, kept');
    const db = openStore(store, { create: false });
    try {
      const run = findRun(db, runId);
      expect(run.status).toBe('stopped');
      expect(run.iterations).toBeGreaterThanOrEqual(1);
    } finally {
      db.close();
    }
  }, 60_000);

  it('refuses a port that is no port', async () => {
    const child = spawn(process.execPath, ['bin/reverie.js', 'serve', '--port', '70000'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(2);
    expect(stderr).toContain('--port must be an integer from 0 to 65535');
  }, 60_000);
});
