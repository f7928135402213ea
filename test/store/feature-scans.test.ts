import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { FeatureScanResult } from '../../src/data/feature-scan.ts';
import type { FeatureStats } from '../../src/data/feature-stats.ts';
import { openStore } from '../../src/store/database.ts';
import { CorruptStoreError, RunNotFoundError } from '../../src/store/errors.ts';
import {
  listFeatureScans,
  loadFeatureScan,
  loadFeatureScanFeature,
  saveFeatureScan,
} from '../../src/store/feature-scans.ts';

const dir = mkdtempSync(join(tmpdir(), 'reverie-feature-scans-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const stats = (max: number): FeatureStats => ({
  count: 10,
  max,
  min: -1,
  mean: 0.25,
  positive: 0.4,
  quantiles: [{ q: 0.5, value: 0.1 }],
  resolution: 0.01,
  histogram: { lo: -1, width: 0.5, counts: [3, 3, 2, 2] },
});

const windowScan: FeatureScanResult = {
  model: 'karpathy/tinyllamas/stories260K',
  target: 'blocks.2.mlp.hook_post[3,17]',
  context: 'window',
  window: 4,
  bos: 1,
  corpus: ['a.txt'],
  documents: 2,
  tokensScanned: 20,
  windows: 10,
  seconds: 0.5,
  features: [
    {
      target: 'blocks.2.mlp.hook_post[3]',
      index: 3,
      stats: stats(2),
      examples: [
        {
          text: 'a b',
          ids: [5, 6, 7, 8],
          activation: 2,
          xent: 3.5,
          source: { file: 'a.txt', document: 0, token: 1 },
        },
      ],
    },
    { target: 'blocks.2.mlp.hook_post[17]', index: 17, stats: stats(1), examples: [] },
  ],
};

const documentScan: FeatureScanResult = {
  ...windowScan,
  target: 'blocks.2.mlp.hook_post[0:1]',
  context: 'document',
  window: undefined,
  ctx: 64,
  features: [
    {
      target: 'blocks.2.mlp.hook_post[0]',
      index: 0,
      stats: stats(1.5),
      examples: [
        {
          text: 'x y',
          ids: [9, 10],
          activations: [0.5, 1.5],
          at: 1,
          activation: 1.5,
          source: { file: 'a.txt', document: 1, token: 7 },
        },
      ],
    },
  ],
};
delete documentScan.window;

describe('multi-feature scans in the store', () => {
  const db = openStore(join(dir, 'reverie.db'));

  it('round-trip, whole or one feature at a time, and are listed newest first', () => {
    const a = saveFeatureScan(db, windowScan, 'sha-a');
    const b = saveFeatureScan(db, documentScan, 'sha-a');
    expect(loadFeatureScan(db, a)).toEqual(windowScan);
    expect(loadFeatureScan(db, b)).toEqual(documentScan);
    expect(loadFeatureScanFeature(db, a, 1)).toEqual(windowScan.features[1]);
    expect(loadFeatureScanFeature(db, b, 0)).toEqual(documentScan.features[0]);
    const top = db
      .prepare('SELECT top_activation FROM feature_scan_features WHERE feature_scan_id = ? ORDER BY rank')
      .all(a) as { top_activation: number | null }[];
    expect(top.map((r) => r.top_activation)).toEqual([2, null]);
    const rows = listFeatureScans(db);
    expect(rows.map((r) => [r.id, r.model, r.target, r.features, r.context])).toEqual([
      [b, documentScan.model, documentScan.target, 1, 'document'],
      [a, windowScan.model, windowScan.target, 2, 'window'],
    ]);
    expect(rows[0]!.createdAt).toMatch(/^\d{4}-\d\d-\d\dT/);
  });

  it('name a missing scan or feature, and damaged rows', () => {
    expect(() => loadFeatureScan(db, 999)).toThrow(RunNotFoundError);
    expect(() => loadFeatureScanFeature(db, 999, 0)).toThrow(/no feature scan with id 999/);
    const id = saveFeatureScan(db, windowScan, 'sha-a');
    expect(() => loadFeatureScanFeature(db, id, 2)).toThrow(/has no feature 2; it has features 0\.\.1/);
    db.prepare('UPDATE feature_scan_features SET examples = ? WHERE feature_scan_id = ? AND rank = 0').run(
      '{',
      id,
    );
    expect(() => loadFeatureScanFeature(db, id, 0)).toThrow(CorruptStoreError);
    expect(() => loadFeatureScan(db, id)).toThrow(/feature 0's examples in the store is not valid JSON/);
  });
});
