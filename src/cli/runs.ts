/** The store as the commands reach it: `--store PATH` (else $REVERIE_STORE, else ./reverie.db). */
import { loadModel } from '../models/load.ts';
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
