/**
 * The sweep from the library API (worker processes forked from the TypeScript sources): a sweep stopped
 * between iterations is resumed to the end, and each feature's result agrees with its own dream run and
 * feature scan as stored.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Files } from '../../src/dream/run.ts';
import { resolveModel } from '../../src/io/resolve.ts';
import { loadModel } from '../../src/models/load.ts';
import type { Model } from '../../src/models/model.ts';
import { TargetSpecError } from '../../src/objectives/target.ts';
import { median } from '../../src/report/stats.ts';
import { openStore } from '../../src/store/database.ts';
import { loadFeatureScanFeature } from '../../src/store/feature-scans.ts';
import { loadAttribution } from '../../src/store/results.ts';
import { findRun, runHistory } from '../../src/store/runs.ts';
import { sweepFeatures } from '../../src/store/sweeps.ts';
import { defaultJobs, resumeSweep, sweep, SweepError, type SweepProgress } from '../../src/sweep/sweep.ts';

const MODEL = 'karpathy/tinyllamas/stories260K';
const CORPUS = '../shared/corpora/tinystories/validation-head.txt';
const dir = mkdtempSync(join(tmpdir(), 'reverie-sweep-api-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const store = join(dir, 'reverie.db');

let model: Model;
let modelSha256: string;
beforeAll(async () => {
  model = await loadModel(MODEL);
  modelSha256 = sha256Files([(await resolveModel(MODEL)).files.weights]);
});

describe('sweep()', () => {
  it('stopped between iterations, is resumed to the end; results agree with the stored runs and scan', async () => {
    const events: SweepProgress[] = [];
    let stop = false;
    const request = {
      store,
      model,
      modelRef: MODEL,
      modelSha256,
      target: 'blocks.1.mlp.hook_post[5,120]',
      corpus: [CORPUS],
      maxTokens: 2000,
      top: 8,
      options: { iters: 12, population: 4, childrenPerMember: 8, topk: 32 },
      attributionK: 4,
      jobs: 1,
      onProgress: (p: SweepProgress) => {
        events.push(p);
        if (p.running.some((r) => r.iter >= 3)) stop = true;
      },
      shouldStop: () => stop,
    };
    const stopped = await sweep(request);
    expect(stopped.status).toBe('stopped');
    expect(stopped.finished).toBe(0);
    expect(events[0]?.phase).toBe('scan');
    const db = openStore(store, { create: false });
    try {
      const [first] = sweepFeatures(db, stopped.id);
      expect(first?.status).toBe('pending');
      const cut = findRun(db, first?.runId as number);
      expect(cut.status).toBe('stopped');
      expect(cut.iterations).toBeLessThan(12);

      const done = await resumeSweep({ store, sweep: stopped.id, model, jobs: 1 });
      expect(done).toMatchObject({ status: 'finished', finished: 2, features: 2 });
      const features = sweepFeatures(db, stopped.id);
      expect(features[0]?.runId).toBe(first?.runId); // the same run went on
      for (const f of features) {
        const result = f.result as NonNullable<typeof f.result>;
        const scan = loadFeatureScanFeature(db, done.featureScanId as number, f.rank);
        const examples = scan.examples as { activation: number; xent: number }[];
        expect(result.topExample.activation).toBe(Math.max(...examples.map((e) => e.activation)));
        expect(result.medianXent).toBe(median(examples.map((e) => e.xent)));
        const candidates = [...runHistory(db, f.runId as number)].flatMap((r) => r.candidates);
        expect(candidates.length).toBeGreaterThan(0);
        const fluent = candidates.filter((c) => c.xent <= result.medianXent);
        const best = fluent.length ? Math.max(...fluent.map((c) => c.target)) : null;
        expect(result.bestDream?.activation ?? null).toBe(best);
        expect(result.win).toBe(best !== null && best > result.topExample.activation);
        expect(result.iterations).toBe(12);
        const attribution = loadAttribution(db, f.attributionId as number);
        expect(attribution.target).toBe(f.target);
        expect(attribution.k).toBe(4);
      }
    } finally {
      db.close();
    }
  }, 300_000);

  it('ends a dream at its time limit as done: the feature is finished, not left to resume', async () => {
    const row = await sweep({
      store,
      model,
      target: 'blocks.1.mlp.hook_post[7]',
      corpus: [CORPUS],
      maxTokens: 1000,
      top: 4,
      options: { iters: 100_000, timeLimit: 1, population: 4, childrenPerMember: 8, topk: 32 },
      attributionK: 2,
      jobs: 1,
    });
    expect(row).toMatchObject({ status: 'finished', finished: 1 });
    const db = openStore(store, { create: false });
    try {
      const [feature] = sweepFeatures(db, row.id);
      expect(feature?.result?.iterations).toBeGreaterThan(0);
      expect(feature?.result?.iterations).toBeLessThan(100_000);
      expect(findRun(db, feature?.runId as number).status).toBe('stopped');
    } finally {
      db.close();
    }
  }, 120_000);

  it('refuses a target that is not a feature set, or an empty corpus list, by name', async () => {
    const base = { store, model, modelRef: MODEL, modelSha256, corpus: [CORPUS] };
    await expect(sweep({ ...base, target: 'logit:the' })).rejects.toThrow(TargetSpecError);
    await expect(sweep({ ...base, target: 'blocks.1.mlp.hook_post[0:2]', corpus: [] })).rejects.toThrow(
      SweepError,
    );
  });

  it('runs as many single-thread dreams as there are cores by default', () => {
    expect(defaultJobs(model)).toBeGreaterThanOrEqual(1);
    expect(defaultJobs(model, 1)).toBe(defaultJobs(model));
  });
});
