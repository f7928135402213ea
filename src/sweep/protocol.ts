/** The messages between a sweep and its worker processes (node's IPC channel, JSON). */
import type { SweepFeatureResult } from '../store/sweeps.ts';

export type ToWorker =
  /** Once, first: where the store is, and the model every job dreams on. */
  | { type: 'init'; store: string; model: string; threads?: number }
  | { type: 'job'; sweepId: number; rank: number }
  /** End the job in flight after its iteration (it stays pending, its run resumable), then exit. */
  | { type: 'stop' };

export type FromWorker =
  | { type: 'ready' }
  | { type: 'progress'; rank: number; iter: number; total: number }
  | { type: 'done'; rank: number; result: SweepFeatureResult }
  | { type: 'stopped'; rank: number }
  | { type: 'failed'; rank: number; error: string };
