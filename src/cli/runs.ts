/** The store as the commands reach it: `--store PATH` (else $REVERIE_STORE, else ./reverie.db). */
import { existsSync } from 'node:fs';
import type { ScanResult } from '../data/scan.ts';
import { sha256Files } from '../dream/run.ts';
import { resolveModel } from '../io/resolve.ts';
import { loadModel } from '../models/load.ts';
import { readScan } from '../report/compare.ts';
import { loadScan } from '../store/results.ts';
import { openStore, storePath, type Db } from '../store/database.ts';
import { RunReader, type OpenedRun } from '../store/open.ts';

export const STORE_OPTION = { store: { type: 'string' } } as const;

export const STORE_HELP = '      --store PATH   the store (default $REVERIE_STORE, else ./reverie.db)';

/** The store of `--store`; `create: false` for commands that only read (a missing store is then an error). */
export function cliStore(values: Record<string, unknown>, create: boolean): Db {
  return openStore(storePath(values.store as string | undefined), { create });
}

/** Opens runs by store id, name or exported folder; prompts of a run cut short decoded by its model. */
export function cliRunReader(values: Record<string, unknown>): RunReader {
  return new RunReader(values.store as string | undefined, async (id) => {
    const model = await loadModel(id);
    return (ids) => model.tokenizer?.decode(ids) ?? ids.join(' ');
  });
}

/** One run by store id, name or exported folder. */
export async function openCliRun(values: Record<string, unknown>, ref: string): Promise<OpenedRun> {
  const reader = cliRunReader(values);
  try {
    return await reader.open(ref);
  } finally {
    reader.close();
  }
}

/** sha256 of a model's weights, as runs, scans and attributions record it. */
export async function modelSha256(modelId: string): Promise<string> {
  return sha256Files([(await resolveModel(modelId)).files.weights]);
}

/** A scan by its JSON file (reverie scan --out), or by its id in the store (reverie ls lists them). */
export function cliScan(values: Record<string, unknown>, ref: string): ScanResult {
  if (existsSync(ref) || !/^\d+$/.test(ref)) return readScan(ref);
  const db = cliStore(values, false);
  try {
    return loadScan(db, Number(ref));
  } finally {
    db.close();
  }
}
