/** What the tests that run the CLI as a child process (and kill it) share. */
import type { ChildProcess } from 'node:child_process';
import { openStore, type Db } from '../../src/store/database.ts';

/** Resolves with the child's exit code once it has exited (at once if it has). */
export const exited = (child: ChildProcess): Promise<number | null> =>
  new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(child.exitCode);
    else child.on('exit', (code) => resolve(code));
  });

/** `f` of the store at `path`, opened for it alone (as another process would). */
export function readStore<T>(path: string, f: (db: Db) => T): T {
  const db = openStore(path, { create: false });
  try {
    return f(db);
  } finally {
    db.close();
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
