import type { IterationRecord } from './epo.ts';
import type { Checkpoint, RunHeader, RunSummary } from './records.ts';
import type { RunSink, StoredRun } from './run.ts';

/** A run kept in memory: the library's simplest record of a run, and one a resume can go on from. */
export class MemorySink implements RunSink {
  header?: RunHeader;
  checkpoint?: Checkpoint;
  summary?: RunSummary;
  readonly history: IterationRecord[] = [];

  begin(header: RunHeader, start: Checkpoint): void {
    this.header = header;
    this.checkpoint = start;
  }

  iteration(record: IterationRecord, after: Checkpoint): void {
    this.history.push(record);
    this.checkpoint = after;
  }

  end(summary: RunSummary): void {
    this.summary = summary;
  }

  /** What `resumeDream` goes on from; a resume given this sink again appends to the same history. */
  stored(): StoredRun {
    if (!this.header || !this.checkpoint) throw new Error('the run has not begun');
    return { header: this.header, checkpoint: this.checkpoint, history: [...this.history] };
  }
}
