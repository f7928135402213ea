/**
 * A sweep's worker process (forked by pool.ts): it loads the model once, then runs the feature jobs it is
 * sent, one at a time, writing each to the store. When the sweep is gone (killed, or its channel closed)
 * it exits at once: a dream cut short goes on from its last iteration when the sweep is resumed.
 */
import { loadModel } from '../models/load.ts';
import { openStore } from '../store/database.ts';
import { failFeature } from '../store/sweeps.ts';
import type { Db } from '../store/database.ts';
import type { Model } from '../models/model.ts';
import { runFeatureJob } from './job.ts';
import type { FromWorker, ToWorker } from './protocol.ts';

const send = (message: FromWorker) => process.send?.(message);

process.on('disconnect', () => process.exit(0));

let setup: { db: Db; model: Model; threads?: number } | undefined;
let stopping = false;

async function handle(message: ToWorker): Promise<void> {
  if (message.type === 'init') {
    const model = await loadModel(message.model);
    setup = {
      db: openStore(message.store, { create: false }),
      model,
      ...(message.threads !== undefined && { threads: message.threads }),
    };
    send({ type: 'ready' });
  } else if (message.type === 'stop') stopping = true;
  else {
    const { db, model, threads } = setup as NonNullable<typeof setup>;
    const { sweepId, rank } = message;
    try {
      const result = await runFeatureJob(
        { sweepId, rank },
        {
          db,
          model,
          ...(threads !== undefined && { threads }),
          shouldStop: () => stopping,
          onProgress: (p) => send({ type: 'progress', rank, iter: p.record.iter + 1, total: p.total }),
        },
      );
      send(result === false ? { type: 'stopped', rank } : { type: 'done', rank, result });
    } catch (error) {
      const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      failFeature(db, sweepId, rank, text);
      send({ type: 'failed', rank, error: text });
    }
  }
}

process.on('message', (message: ToWorker) => {
  handle(message).catch((error: unknown) => {
    process.stderr.write(`sweep worker ${process.pid}: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  });
});
