/**
 * The process writing a run or a sweep: host, pid and a token. A row is owned while its owner lives; one
 * whose owner has died may be claimed again.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { parseStoredJson } from './errors.ts';

export interface Owner {
  host: string;
  pid: number;
  token: string;
}

/** A new owner for this process (a fresh token: two writers in one process are two owners). */
export const newOwner = (): Owner => ({ host: hostname(), pid: process.pid, token: randomUUID() });

/** A dead owner's row may be claimed: on this host, when its process is gone; elsewhere, after this long. */
const FOREIGN_OWNER_TIMEOUT_MS = 10 * 60 * 1000;

/** Whether the owner (as stored) still writes: its process lives (or, on another host, it wrote lately). */
export function alive(owner: Owner, updatedAt: string): boolean {
  if (owner.host !== hostname()) return Date.now() - Date.parse(updatedAt) < FOREIGN_OWNER_TIMEOUT_MS;
  try {
    process.kill(owner.pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The live writer of a row from its stored owner, or null. */
export function writerOf(
  ownerJson: string | null,
  updatedAt: string,
  what: string,
): { host: string; pid: number } | null {
  if (ownerJson === null) return null;
  const owner = parseStoredJson<Owner>(ownerJson, `${what}'s owner`);
  return alive(owner, updatedAt) ? { host: owner.host, pid: owner.pid } : null;
}
