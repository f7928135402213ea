/**
 * The sweep's job queue (BullMQ on Redis): one queue for every sweep, a job per feature, named by its sweep's
 * key and rank. A job carries all a worker needs (the model's id and sha256, the dream's options, the bar
 * from the feature's dataset examples); the worker returns the run, the result and the attribution, and the
 * sweep's process alone writes them to its store.
 */
import { hostname } from 'node:os';
import type { Attribution } from '../dream/attribution.ts';
import type { EpoOptions } from '../dream/options.ts';
import type { RunHeader, RunSummary } from '../dream/records.ts';
import type { SweepFeatureResult } from '../store/sweeps.ts';
import type { ComparisonBar } from './outcome.ts';
import type { WireCheckpoint } from './wire.ts';

/** The queue's name in Redis (its keys are `bull:reverie-sweep:…`). */
export const QUEUE_NAME = 'reverie-sweep';

/** A dream sends its checkpoint (with its iterations since the last) every this many iterations. */
export const CHECKPOINT_EVERY = 10;

/** How long a job outlives its worker (killed, machine gone) before another worker takes it. */
export const DEFAULT_STALL_SECONDS = 30;

export interface FeatureJobData {
  /** The sweep's queue key (sweeps.queue) and the feature. */
  key: string;
  sweepId: number;
  rank: number;
  target: string;
  model: { id: string; sha256: string };
  options: Partial<EpoOptions>;
  attributionK: number;
  bar: ComparisonBar;
  checkpointEvery: number;
}

export interface FeatureJobResult {
  worker: string;
  header: RunHeader;
  checkpoint: WireCheckpoint;
  summary: RunSummary;
  result: SweepFeatureResult;
  attribution: Attribution | null;
  /** The iteration this worker's dream began at: 0, or a checkpoint another worker left. */
  resumedFrom: number;
  /** Wall seconds of the job on this worker. */
  seconds: number;
}

/** A job's id: BullMQ's custom ids must not be integers nor hold ':'. */
export const jobId = (key: string, rank: number): string => `${key}-${rank}`;

/** This process as a worker is named in progress and in the store. */
export const workerName = (): string => `${hostname()}:${process.pid}`;
