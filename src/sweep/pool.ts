/**
 * The local worker pool: `jobs` worker processes (worker-main.ts), each loading the model once and running
 * one feature job at a time. Jobs go out in order to whichever worker is free. A worker that dies takes its
 * feature with it as failed (a resume tries it again), and another takes its place.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import type { FromWorker, ToWorker } from './protocol.ts';

/** What the pool reports as it goes. */
export type PoolEvent = FromWorker & { worker: number };

export interface PoolRequest {
  /** The features to run (ranks), in order. */
  ranks: readonly number[];
  sweepId: number;
  jobs: number;
  store: string;
  model: string;
  threads?: number;
  onEvent: (event: PoolEvent) => void;
  /** Checked as events come: true stops handing out jobs and asks the running ones to stop. */
  shouldStop?: () => boolean;
}

/**
 * The worker's entry and the flags node needs for it: in a checkout, the TypeScript source through tsx's
 * loader (as bin/reverie.js runs the CLI); in the built package, the compiled file.
 */
function workerEntry(): { path: URL; execArgv: string[] } {
  const source = import.meta.url.endsWith('.ts');
  const path = new URL(source ? './worker-main.ts' : './worker-main.js', import.meta.url);
  if (!source) return { path, execArgv: [] };
  const loader = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  return { path, execArgv: ['--import', loader] };
}

/** Runs the features on a pool of worker processes; resolves when every worker has exited. */
export function runPool(request: PoolRequest): Promise<void> {
  const queue = [...request.ranks];
  const entry = workerEntry();
  const init: ToWorker = {
    type: 'init',
    store: request.store,
    model: request.model,
    ...(request.threads !== undefined && { threads: request.threads }),
  };
  let live = 0;
  let stopping = false;
  return new Promise((resolve) => {
    const stopIfAsked = (workers: Set<ChildProcess>) => {
      if (stopping || !request.shouldStop?.()) return;
      stopping = true;
      queue.length = 0;
      for (const w of workers) if (w.connected) w.send({ type: 'stop' } satisfies ToWorker);
    };
    const workers = new Set<ChildProcess>();
    const start = (index: number) => {
      const child = fork(entry.path, [], {
        execArgv: entry.execArgv,
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      workers.add(child);
      live++;
      let current: number | undefined;
      const next = () => {
        const rank = queue.shift();
        if (rank === undefined || stopping) {
          current = undefined;
          child.disconnect();
          return;
        }
        current = rank;
        child.send({ type: 'job', sweepId: request.sweepId, rank } satisfies ToWorker);
      };
      child.on('message', (message: FromWorker) => {
        request.onEvent({ ...message, worker: index });
        stopIfAsked(workers);
        if (message.type === 'ready' || message.type === 'done' || message.type === 'failed') next();
        else if (message.type === 'stopped') {
          current = undefined;
          child.disconnect();
        }
      });
      child.on('exit', (code, signal) => {
        workers.delete(child);
        live--;
        if (current !== undefined) {
          const why = signal ? `signal ${signal}` : `code ${code}`;
          request.onEvent({
            type: 'failed',
            rank: current,
            error: `the worker process exited (${why})`,
            worker: index,
          });
          if (!stopping && queue.length > 0) start(index);
        }
        if (live === 0) resolve();
      });
      child.send(init);
    };
    const n = Math.max(1, Math.min(request.jobs, queue.length));
    if (queue.length === 0) resolve();
    else for (let i = 0; i < n; i++) start(i);
  });
}
