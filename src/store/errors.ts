/** The store's errors: each names the database or the run, and says what was expected. */

/** A database that cannot be opened or is not reverie's (or is a newer reverie's). */
export class StoreError extends Error {
  override name = 'StoreError';
}

/** Stored data that does not decode: the database was damaged or written by something else. */
export class CorruptStoreError extends Error {
  override name = 'CorruptStoreError';
}

/** Stored JSON, parsed; a CorruptStoreError naming `what` where it does not parse. */
export function parseStoredJson<T = unknown>(text: string, what: string): T {
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new CorruptStoreError(`${what} in the store is not valid JSON`);
  }
}

/** A run that another live process is writing. */
export class RunBusyError extends Error {
  override name = 'RunBusyError';
}

/** A store id or name, or a folder, that holds no run (or scan). */
export { RunNotFoundError } from '../dream/records.ts';
