import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { expect, it } from 'vitest';

it('leaves no files outside its output: ONNX Runtime’s telemetry is off', () => {
  const home = mkdtempSync(join(tmpdir(), 'reverie-home-'));
  const temp = mkdtempSync(join(tmpdir(), 'reverie-tmp-'));
  try {
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: home,
      TMPDIR: temp,
      REVERIE_MODEL_PATH: resolve(process.env.REVERIE_MODEL_PATH ?? '../shared/models'),
      REVERIE_OFFLINE: '1',
      REVERIE_STORE: join(temp, 'unused.db'),
    }; // no CI variable: ONNX Runtime would skip its telemetry under CI anyway
    const result = spawnSync(process.execPath, ['bin/reverie.js', 'generate', '--max-tokens', '2'], {
      env,
      encoding: 'utf8',
    });
    expect(result.status, result.stderr).toBe(0);
    expect(existsSync(join(home, '.cache', 'Microsoft'))).toBe(false);
    expect(readdirSync(temp).filter((f) => /mat-debug|\.ses/.test(f))).toEqual([]);
  } finally {
    rmSync(home, { recursive: true, force: true });
    rmSync(temp, { recursive: true, force: true });
  }
});
