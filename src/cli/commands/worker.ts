import { DEFAULT_STALL_SECONDS } from '../../sweep/queue.ts';
import { checkQueueUrl, maskUrl } from '../../sweep/redis.ts';
import { startWorker, type WorkerEvent } from '../../sweep/worker.ts';
import { UsageError, type Command } from '../command.ts';
import { numberOption } from '../numbers.ts';

const usage = `Usage: reverie worker --queue URL [--jobs N] [--model-path DIR[:DIR…]] [--stall-seconds S]

Takes the jobs of sweeps run with \`reverie sweep --queue URL\` (a feature's dream, its comparison and the
attribution of its best dream) from the Redis queue at URL, and returns their results through it; the
sweep's process writes them to its store. Start as many as the machines hold, on any machine that reaches
Redis. Each loads the job's model as the CLI does ($REVERIE_MODEL_PATH, the cache, the hub) and checks its
weights' sha256 against the job's. A dream sends its checkpoint through the queue every few iterations: a
worker killed mid-job leaves it to another, which goes on from that checkpoint once the job's lock has
lapsed (--stall-seconds). Ctrl-C ends the jobs in hand and then the worker (again: at once, the jobs left to
another worker). Redis must not be reachable from the internet: bind it to a private address, set a
password (redis://:PASSWORD@HOST:PORT), use TLS (rediss://) between machines.

Options:
      --queue URL          redis://[:PASSWORD@]HOST:PORT[/DB] or rediss://… (the password is never printed)
      --jobs N             jobs at a time in this process (default 1)
      --model-path DIRS    where to look for models, ':'-separated (default: $REVERIE_MODEL_PATH)
      --stall-seconds S    how long a job outlives a killed worker before another takes it (default ${DEFAULT_STALL_SECONDS})`;

function line(event: WorkerEvent): string {
  if (event.type === 'active')
    return `${event.target}: started${event.resumeFrom > 0 ? `, resuming at iteration ${event.resumeFrom}` : ''} (job ${event.jobId})`;
  if (event.type === 'completed') return `${event.target}: done in ${event.seconds.toFixed(1)} s`;
  return `${event.target}: failed: ${event.error}`;
}

export const workerCommand: Command = {
  name: 'worker',
  summary: 'take sweep jobs from a Redis queue (reverie sweep --queue) on this machine',
  usage,
  options: {
    queue: { type: 'string' },
    jobs: { type: 'string' },
    'model-path': { type: 'string' },
    'stall-seconds': { type: 'string' },
  },
  async run(values) {
    if (values.queue === undefined) throw new UsageError(`--queue URL is required\n\n${usage}`);
    const url = checkQueueUrl(values.queue as string);
    const jobs = numberOption(values, 'jobs', 1, { usage, min: 1 });
    const stallSeconds = numberOption(values, 'stall-seconds', DEFAULT_STALL_SECONDS, {
      usage,
      integer: false,
      min: 0.5,
    });
    const modelPath = (values['model-path'] as string | undefined)?.split(':').filter(Boolean);
    const worker = await startWorker({
      url,
      jobs,
      stallSeconds,
      ...(modelPath && { modelPath }),
      onEvent: (event) => console.log(line(event)),
    });
    console.log(
      `reverie worker ${worker.name}: ${jobs} job(s) at a time from ${maskUrl(url)} (Ctrl-C to stop)`,
    );
    await new Promise<void>((resolve) => {
      let stopping = false;
      const stop = () => {
        if (stopping) process.exit(130);
        stopping = true;
        process.stderr.write('\nstopping after the jobs in hand (again to quit at once)…\n');
        worker.close().then(resolve, resolve);
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
  },
};
