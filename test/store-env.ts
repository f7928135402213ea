/**
 * vitest's global setup: every test process gets a throw-away store ($REVERIE_STORE), so that no test
 * writes ./reverie.db; it is deleted after the run. Tests that list a store's contents use their own.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export default function setup(): () => void {
  const dir = mkdtempSync(join(tmpdir(), 'reverie-test-store-'));
  process.env.REVERIE_STORE = join(dir, 'reverie.db');
  return () => rmSync(dir, { recursive: true, force: true });
}
