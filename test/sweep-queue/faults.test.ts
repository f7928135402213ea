/**
 * The queue's faults, with a real redis-server that wants a password: Redis unreachable (or the URL wrong) is
 * an error naming the URL, its password masked; the coordinator (`reverie sweep --queue`) SIGKILLed and
 * resumed collects what the workers finished meanwhile; a job that fails (its model missing on the worker,
 * or another model than the job's) is recorded with its message, not retried, and the others go on.
 */
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Files } from '../../src/dream/run.ts';
import { resolveModel } from '../../src/io/resolve.ts';
import { loadModel } from '../../src/models/load.ts';
import type { Model } from '../../src/models/model.ts';
import { findSweep, sweepFeatures } from '../../src/store/sweeps.ts';
import { QueueConnectionError } from '../../src/sweep/redis.ts';
import { resumeSweep, sweep, type SweepRequest } from '../../src/sweep/sweep.ts';
import { exited, readStore } from '../helpers/processes.ts';
import { freePort, TestRedis } from '../helpers/redis.ts';
import { CORPUS, MODEL, smallSweep, startWorker, until, type WorkerProcess } from './workers.ts';

const PASSWORD = 'pw-s3cret-4d9f';
const dir = mkdtempSync(join(tmpdir(), 'reverie-queue-faults-'));
let redis: TestRedis;
let model: Model;
let modelSha256: string;
let modelDir: string;
const workers: WorkerProcess[] = [];

beforeAll(async () => {
  redis = await TestRedis.start({ password: PASSWORD });
  model = await loadModel(MODEL);
  const resolved = await resolveModel(MODEL);
  modelSha256 = sha256Files([resolved.files.weights]);
  modelDir = resolved.dir;
});
afterAll(async () => {
  await Promise.all(workers.map((w) => w.kill()));
  await redis?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

const worker = async (args: string[] = []) => {
  const w = await startWorker(['--queue', redis.url, ...args]);
  workers.push(w);
  return w;
};

const cli = (args: string[]) => {
  const result = spawnSync(process.execPath, ['bin/reverie.js', ...args], { encoding: 'utf8' });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
};

const OPTIONS = ['--max-tokens', '2000', '--top', '8', '--iters', '12', '--population', '4', '--children', '8', '--topk', '32']; // prettier-ignore

const request = (store: string, target: string): SweepRequest => ({
  ...smallSweep({ store: join(dir, store), model, modelSha256, target }, 12),
  queue: redis.url,
});

describe('the queue, when things go wrong', () => {
  it('names an unreachable Redis or a wrong URL, its password masked, instead of hanging', async () => {
    const nowhere = `redis://:${PASSWORD}@127.0.0.1:${await freePort()}`;
    const refused = sweep({ ...request('never.db', 'blocks.1.mlp.hook_post[0]'), queue: nowhere });
    await expect(refused).rejects.toThrow(QueueConnectionError);
    await expect(refused).rejects.toThrow(
      /^cannot reach Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:\d+: .*ECONNREFUSED/,
    );
    const noWorker = cli(['worker', '--queue', nowhere]);
    expect(noWorker.code).toBe(1);
    expect(noWorker.stderr).toMatch(
      /QueueConnectionError: cannot reach Redis at redis:\/\/:\*\*\*@127\.0\.0\.1/,
    );
    const wrongPassword = cli(['worker', '--queue', redis.url.replace(PASSWORD, 'not-it')]);
    expect(wrongPassword.code).toBe(1);
    expect(wrongPassword.stderr).toMatch(
      /cannot reach Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:\d+: WRONGPASS/,
    );
    const http = cli(['worker', '--queue', `http://me:${PASSWORD}@example.org`]);
    expect(http.stderr).toMatch(/expected a redis:\/\/ or rediss:\/\/ URL, got http:/);
    for (const output of [noWorker, wrongPassword, http]) expect(output.stderr).not.toContain(PASSWORD);
  });

  it('collects, after its coordinator was SIGKILLed, what a worker (two jobs at a time) finished meanwhile', async () => {
    const store = join(dir, 'coordinator.db');
    const args = [
      '--target',
      'blocks.2.mlp.hook_post[0:3]',
      '--corpus',
      CORPUS,
      ...OPTIONS,
      '--store',
      store,
    ];
    const one = await worker(['--jobs', '2']);
    const child = spawn(
      process.execPath,
      ['bin/reverie.js', 'sweep', ...args, '--name', 'c', '--queue', redis.url],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const finished = () => {
      try {
        return readStore(store, (db) => sweepFeatures(db, findSweep(db, 'c').id)).filter(
          (f) => f.status === 'finished',
        );
      } catch {
        return []; // the store or the sweep is not there yet
      }
    };
    await until('a finished feature', () => finished().length >= 1);
    child.kill('SIGKILL');
    await exited(child);
    const before = finished();
    expect(before.length).toBeLessThan(3);
    expect(stderr).toMatch(
      /sweep \d+: 3 job\(s\) on the queue redis:\/\/:\*\*\*@127\.0\.0\.1:\d+, for `reverie worker/,
    );
    // The worker goes on without the coordinator: every job done, waiting to be collected.
    await until('the worker to finish every job', () => one.output().match(/: done in/g)?.length === 3);
    expect(readStore(store, (db) => findSweep(db, 'c')).status).toBe('interrupted');

    const local = cli(['sweep', '--resume', 'c', '--store', store]);
    expect(local.code).toBe(2);
    expect(local.stderr).toMatch(
      /ran its dreams on the queue redis:\/\/:\*\*\*@127\.0\.0\.1:\d+: give it again/,
    );
    const resumed = cli(['sweep', '--resume', 'c', '--queue', redis.url, '--store', store]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(
      /features finished, going on \(queue redis:\/\/:\*\*\*@127\.0\.0\.1:\d+\)/,
    );
    const after = readStore(store, (db) => sweepFeatures(db, findSweep(db, 'c').id));
    expect(after.map((f) => f.status)).toEqual(['finished', 'finished', 'finished']);
    expect(after.every((f) => f.worker === one.name)).toBe(true);
    for (const f of before) expect(after[f.rank]).toEqual(f);
    expect(one.output().match(/: started/g)).toHaveLength(3); // nothing ran twice
    for (const output of [stderr, local.stderr, resumed.stdout, resumed.stderr])
      expect(output).not.toContain(PASSWORD);
  }, 180_000);

  it('records a job that fails (its model missing on the worker) with its message, once, and the others go on', async () => {
    const copy = join(dir, 'stories260K-copy');
    cpSync(modelDir, copy, { recursive: true });
    const missing = sweep({
      ...request('missing.db', 'blocks.1.mlp.hook_post[9]'),
      model: await loadModel(copy),
      modelRef: copy,
      modelSha256,
      // The model is gone by the time a worker takes the job.
      onProgress: (p) => void (p.phase === 'dream' && rmSync(copy, { recursive: true, force: true })),
    });
    const fine = sweep(request('fine.db', 'blocks.1.mlp.hook_post[10:12]'));
    const [failedRow, fineRow] = await Promise.all([missing, fine]);
    expect(fineRow).toMatchObject({ status: 'finished', finished: 2, failed: 0 });
    expect(failedRow).toMatchObject({ status: 'stopped', finished: 0, failed: 1 });
    const [feature] = readStore(join(dir, 'missing.db'), (db) => sweepFeatures(db, failedRow.id));
    expect(feature?.error).toMatch(/^ModelNotFoundError: .*stories260K-copy/);
    const w = workers.at(-1) as WorkerProcess;
    expect(w.output().match(/hook_post\[9\]: failed: ModelNotFoundError/g)).toHaveLength(1);
  }, 180_000);

  it("fails a job whose model's sha256 is not the worker's, and a resume tries it again", async () => {
    await Promise.all(workers.splice(0).map((w) => w.kill('SIGTERM')));
    // Another stories260K: one weight's last bit flipped.
    const other = join(dir, 'models', MODEL);
    mkdirSync(other, { recursive: true });
    for (const file of ['stories260K.bin', 'tok512.bin'])
      copyFileSync(join(modelDir, file), join(other, file));
    const weights = readFileSync(join(other, 'stories260K.bin'));
    weights[weights.length - 1] = (weights[weights.length - 1] as number) ^ 1;
    writeFileSync(join(other, 'stories260K.bin'), weights);
    const wrong = await worker(['--model-path', join(dir, 'models')]);
    const row = await sweep(request('mismatch.db', 'blocks.1.mlp.hook_post[11]'));
    expect(row).toMatchObject({ status: 'stopped', failed: 1 });
    const [feature] = readStore(join(dir, 'mismatch.db'), (db) => sweepFeatures(db, row.id));
    expect(feature?.error).toMatch(
      new RegExp(
        `^ModelMismatchError: the job's model ${MODEL} has weights sha256 ${modelSha256.slice(0, 12)}…, this worker's [0-9a-f]{12}…`,
      ),
    );
    await wrong.kill('SIGTERM');
    await worker();
    const again = await resumeSweep({
      store: join(dir, 'mismatch.db'),
      sweep: row.id,
      model,
      queue: redis.url,
    });
    expect(again).toMatchObject({ status: 'finished', finished: 1, failed: 0 });
  }, 180_000);
});
