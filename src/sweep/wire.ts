/**
 * A dream's iterations and checkpoints as they travel through Redis (a job's log and progress): JSON, with
 * the candidates and the population in the store's binary codec (base64), so that float64 values and the
 * top-k tables arrive bit for bit, as a resume needs them.
 */
import type { IterationRecord } from '../dream/epo.ts';
import type { Checkpoint, RunHeader } from '../dream/records.ts';
import { decodeCandidates, decodePopulation, encodeCandidates, encodePopulation } from '../store/codec.ts';

export type WireRecord = Omit<IterationRecord, 'candidates'> & { candidates: string };
export type WireCheckpoint = Omit<Checkpoint, 'population'> & { population: string };

/** A message that is not what this reverie sends: from another version, or not reverie's. */
export class WireError extends Error {
  override name = 'WireError';
}

export const encodeRecord = (r: IterationRecord): WireRecord => ({
  ...r,
  candidates: encodeCandidates(r.candidates).toString('base64'),
});

export const decodeRecord = (r: WireRecord, what: string): IterationRecord => ({
  ...r,
  candidates: decodeCandidates(Buffer.from(r.candidates, 'base64'), what),
});

export const encodeCheckpoint = (c: Checkpoint): WireCheckpoint => ({
  ...c,
  population: encodePopulation(c.population).toString('base64'),
});

export const decodeCheckpoint = (c: WireCheckpoint, what: string): Checkpoint => ({
  ...c,
  population: decodePopulation(Buffer.from(c.population, 'base64'), what),
});

/** One entry of a job's log: a batch of iterations, in order. */
export interface LogEntry {
  records: WireRecord[];
}

/** What a worker reports as a job goes: where it is, and the checkpoint a retry resumes from. */
export interface JobProgress {
  /** The worker holding the job: `host:pid`. */
  worker: string;
  iter: number;
  total: number;
  /** The best target the dream has evaluated so far. */
  best: number | null;
  /** The run as of its last checkpoint (the iterations before it are in the job's log). */
  resume?: { header: RunHeader; checkpoint: WireCheckpoint };
}

/** A job's log (its entries, oldest first) as the iterations before `iter`, each once, in order. */
export function historyBefore(entries: readonly string[], iter: number, what: string): IterationRecord[] {
  const byIter = new Map<number, WireRecord>();
  for (const [i, text] of entries.entries()) {
    let entry: LogEntry;
    try {
      entry = JSON.parse(text) as LogEntry;
    } catch (error) {
      throw new WireError(`${what}'s log entry ${i} is not JSON: ${(error as Error).message}`);
    }
    if (!Array.isArray(entry.records))
      throw new WireError(`${what}'s log entry ${i} has no records, expected {records: […]}`);
    // A worker killed between its log and its progress leaves iterations past its checkpoint; a retry
    // writes them again, equal (the run is deterministic): the first is kept.
    for (const r of entry.records) if (r.iter < iter && !byIter.has(r.iter)) byIter.set(r.iter, r);
  }
  const history: IterationRecord[] = [];
  for (let k = 0; k < iter; k++) {
    const r = byIter.get(k);
    if (!r) throw new WireError(`${what}'s log lacks iteration ${k} of the ${iter} before its checkpoint`);
    history.push(decodeRecord(r, `${what}'s iteration ${k}`));
  }
  return history;
}
