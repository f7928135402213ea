import type { SweepRequest } from '../../src/sweep/sweep.ts';
/** What the queue tests share: `reverie worker` processes, and a look at the queue's running jobs. */
import { spawn, type ChildProcess } from 'node:child_process';
import { Queue } from 'bullmq';
import { QUEUE_NAME } from '../../src/sweep/queue.ts';
import { connect } from '../../src/sweep/redis.ts';
import type { JobProgress } from '../../src/sweep/wire.ts';
import { exited, sleep } from '../helpers/processes.ts';

export interface WorkerProcess {
  child: ChildProcess;
  /** Its name as it reports it (`host:pid`). */
  name: string;
  /** Everything it printed so far, stdout and stderr. */
  output: () => string;
  kill: (signal?: NodeJS.Signals) => Promise<void>;
}

/** Starts `reverie worker` with these arguments; resolves once it is taking jobs. */
export async function startWorker(args: string[]): Promise<WorkerProcess> {
  const child = spawn(process.execPath, ['bin/reverie.js', 'worker', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const deadline = Date.now() + 60_000;
  let name: string | undefined;
  while (name === undefined) {
    if (child.exitCode !== null) throw new Error(`reverie worker exited (${child.exitCode}): ${output}`);
    if (Date.now() > deadline) throw new Error(`reverie worker did not start: ${output}`);
    name = /^reverie worker (\S+):/m.exec(output)?.[1];
    await sleep(50);
  }
  return {
    child,
    name,
    output: () => output,
    kill: async (signal = 'SIGKILL') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited(child);
    },
  };
}

/** The running jobs of the queue at `url` whose id starts with `prefix`, with their progress. */
export async function activeJobs(
  url: string,
  prefix = '',
): Promise<{ id: string; progress: Partial<JobProgress> }[]> {
  const client = connect(url);
  const queue = new Queue(QUEUE_NAME, { connection: client });
  try {
    return (await queue.getActive())
      .filter((job) => job?.id?.startsWith(prefix))
      .map((job) => ({ id: job.id as string, progress: job.progress as Partial<JobProgress> }));
  } finally {
    await queue.close();
    client.disconnect();
  }
}

/** The states of jobs on the queue at `url` ('unknown': not there). */
export async function jobStates(url: string, ids: readonly string[]): Promise<string[]> {
  const client = connect(url);
  const queue = new Queue(QUEUE_NAME, { connection: client });
  try {
    return await Promise.all(ids.map((id) => queue.getJobState(id)));
  } finally {
    await queue.close();
    client.disconnect();
  }
}

/** Waits until `check` holds (polled), or fails naming `what`. */
export async function until(
  what: string,
  check: () => Promise<boolean> | boolean,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

export const MODEL = 'karpathy/tinyllamas/stories260K';
export const CORPUS = '../shared/corpora/tinystories/validation-head.txt';

/** A small sweep of `target` (the top 8 examples of 2,000 corpus tokens, tiny dreams of `iters`) into `store`. */
export const smallSweep = (
  base: Pick<SweepRequest, 'store' | 'model' | 'modelSha256' | 'target'>,
  iters: number,
): SweepRequest => ({
  ...base,
  modelRef: MODEL,
  corpus: [CORPUS],
  maxTokens: 2000,
  top: 8,
  options: { iters, population: 4, childrenPerMember: 8, topk: 32 },
  attributionK: 4,
});
