/** Runs named on a command line or in the library: a store id or name, or an exported folder. */
import { existsSync, statSync } from 'node:fs';
import { promptKey, type Candidate, type IterationRecord } from '../dream/epo.ts';
import type { Checkpoint, RunSummary } from '../dream/records.ts';
import { openStore, storePath, type Db } from './database.ts';
import { RunNotFoundError } from './errors.ts';
import { readRunFolder } from './files.ts';
import { findRun, rebuiltSummary, runHistory, storedRun, storedSummary } from './runs.ts';

/** A run to read. */
export interface OpenedRun {
  /** How to name it in messages and tables: `run 3 (name)` or the folder. */
  label: string;
  /** Its id, where it is in the store. */
  storeId?: number;
  summary: RunSummary;
  /** Its iterations, in order. */
  history(): Iterable<IterationRecord>;
  /** The state a resume continues from, where it was kept. */
  checkpoint?: Checkpoint;
  /** Every distinct candidate it evaluated. */
  candidates(): Candidate[];
}

/** Decodes prompts of a model (for a run cut short, whose summary is rebuilt), by the model's id. */
export type DecoderOf = (modelId: string) => Promise<(ids: number[]) => string>;

/** Opens runs by reference, the store only if one of them is in it; `close()` when done. */
export class RunReader {
  private db: Db | undefined;
  constructor(
    private readonly store: string | undefined,
    private readonly decoder: DecoderOf,
  ) {}

  async open(ref: string): Promise<OpenedRun> {
    if (existsSync(ref) && statSync(ref).isDirectory()) {
      const folder = readRunFolder(ref);
      return {
        label: ref,
        summary: folder.summary,
        history: () => folder.history(),
        ...(folder.checkpoint && { checkpoint: folder.checkpoint }),
        candidates: () => distinct(folder.history()),
      };
    }
    const path = storePath(this.store);
    if (!this.db && !existsSync(path))
      throw new RunNotFoundError(`${ref} is neither a run folder nor a run in ${path} (no store there)`);
    this.db ??= openStore(path, { create: false });
    const db = this.db;
    const row = findRun(db, ref);
    const summary = storedSummary(db, row.id) ?? rebuiltSummary(db, row.id, await this.decoder(row.model.id));
    return {
      label: row.name === null ? `run ${row.id}` : `run ${row.id} (${row.name})`,
      storeId: row.id,
      summary,
      history: () => runHistory(db, row.id),
      checkpoint: storedRun(db, row.id).checkpoint,
      candidates: () => distinct(runHistory(db, row.id)),
    };
  }

  close(): void {
    this.db?.close();
  }
}

function distinct(history: Iterable<{ candidates: Candidate[] }>): Candidate[] {
  const seen = new Map<string, Candidate>();
  for (const record of history) for (const c of record.candidates) seen.set(promptKey(c.ids), c);
  return [...seen.values()];
}
