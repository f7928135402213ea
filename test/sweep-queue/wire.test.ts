/**
 * What travels through Redis and how a queue URL is shown: iterations and checkpoints arrive bit for bit,
 * a job's log gives the iterations before a checkpoint each once (a retry's repeats dropped), and a URL's
 * password is never shown.
 */
import { describe, expect, it } from 'vitest';
import type { IterationRecord } from '../../src/dream/epo.ts';
import type { Checkpoint } from '../../src/dream/records.ts';
import { checkQueueUrl, maskUrl, QueueConnectionError } from '../../src/sweep/redis.ts';
import {
  decodeCheckpoint,
  encodeCheckpoint,
  encodeRecord,
  historyBefore,
  WireError,
} from '../../src/sweep/wire.ts';

const record = (iter: number, seconds = 0.5): IterationRecord => ({
  iter,
  candidates: [
    { ids: [1, 2, 3], target: 0.1 + iter / 3, xent: Math.PI * iter },
    { ids: [4, 70000, 6], target: -1e-300, xent: 5.000000000000001 },
  ],
  keep: [0],
  seconds,
  rng: [iter, 2 ** 32 - 1],
  evaluated: 2,
  dropped: 0,
  ...(iter % 2 === 1 && { restartPenalty: 0.25 }),
});
const entry = (...records: IterationRecord[]) => JSON.stringify({ records: records.map(encodeRecord) });

describe('the queue wire', () => {
  it('carries a checkpoint bit for bit, top-k tables included', () => {
    const checkpoint: Checkpoint = {
      iter: 7,
      rng: [1, 2, 3, 4],
      evaluations: 99,
      seconds: 1.25,
      dropped: 1,
      population: [
        {
          ids: [5, 6],
          target: 1 / 3,
          xent: 2 / 3,
          penalty: 0.1,
          topk: Int32Array.of(1, 2, 3, 4),
          likely: Int32Array.of(9, 8, 7, 6),
        },
      ],
    };
    const wire = JSON.parse(JSON.stringify(encodeCheckpoint(checkpoint)));
    expect(decodeCheckpoint(wire, 'a checkpoint')).toEqual(checkpoint);
  });

  it("gives a job's log as the iterations before its checkpoint, each once, the first copy kept", () => {
    // A worker logged 0–3 and died before its progress said 4; the next went on from 2 and logged 2–4 again.
    const logs = [
      entry(record(0), record(1)),
      entry(record(2), record(3)),
      entry(record(2, 9), record(3, 9), record(4)),
    ];
    const history = historyBefore(logs, 4, 'job x');
    expect(history).toEqual([0, 1, 2, 3].map((i) => record(i)));
    expect(historyBefore(logs, 0, 'job x')).toEqual([]);
  });

  it('names a log that lacks an iteration, or is not one', () => {
    expect(() => historyBefore([entry(record(0), record(2))], 3, 'job x')).toThrow(
      new WireError("job x's log lacks iteration 1 of the 3 before its checkpoint"),
    );
    expect(() => historyBefore(['{"records": 1}'], 1, 'job x')).toThrow(/log entry 0 has no records/);
    expect(() => historyBefore(['not json'], 1, 'job x')).toThrow(/log entry 0 is not JSON/);
  });

  it("masks a URL's password, and names a URL that is not Redis's", () => {
    expect(maskUrl('redis://:s3cret@10.0.0.5:6379/2')).toBe('redis://:***@10.0.0.5:6379/2');
    expect(maskUrl('rediss://reverie:s3cret@redis.example.org:6380')).toBe(
      'rediss://reverie:***@redis.example.org:6380',
    );
    expect(maskUrl('redis://127.0.0.1:6379')).toBe('redis://127.0.0.1:6379');
    expect(maskUrl('redis//:s3cret@host')).not.toContain('s3cret');
    expect(checkQueueUrl('rediss://:pw@host:6380/0')).toBe('rediss://:pw@host:6380/0');
    expect(() => checkQueueUrl('http://:pw@host')).toThrow(QueueConnectionError);
    expect(() => checkQueueUrl('redis://:pw@host:1/db')).toThrow(
      '--queue redis://:***@host:1/db: the path is the database, a number (/0), got /db',
    );
    expect(() => checkQueueUrl('not a url :pw@')).toThrow(/is not a URL: expected redis:/);
  });
});
