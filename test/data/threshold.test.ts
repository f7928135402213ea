/** The perplexity filter's threshold equals a brute-force quantile of the windows' cross-entropies. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ScanError } from '../../src/data/scan.ts';
import { quantileOfSorted, xentThreshold } from '../../src/data/threshold.ts';
import { loadModel } from '../../src/models/load.ts';
import type { Model } from '../../src/models/model.ts';
import { trace } from '../../src/models/trace.ts';

const dir = mkdtempSync(join(tmpdir(), 'reverie-threshold-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const corpus = join(dir, 'small.txt');
const DOCUMENTS = [
  'Once upon a time, there was a little girl named Lily. She loved to play.',
  'The dog ran to the park. He saw a big red ball and ran after it.',
  'Tom was sad.',
];
const WINDOW = 6;

let model: Model;
beforeAll(async () => {
  model = await loadModel('karpathy/tinyllamas/stories260K');
  writeFileSync(corpus, DOCUMENTS.join('\n\n'));
});

describe('xentThreshold', () => {
  it('equals the brute-force quantile of every window, each scored alone with its BOS', async () => {
    const quantiles = [0.5, 0.9, 0.95, 1];
    const result = await xentThreshold({ model, corpus: [corpus], window: WINDOW, quantiles, batchSize: 7 });
    const tokenizer = model.tokenizer!;
    const xents: number[] = [];
    for (const text of DOCUMENTS) {
      const ids = tokenizer.encode(text, { bos: false });
      for (let start = 0; start + WINDOW <= ids.length; start++) {
        const { xent } = await trace(model, [tokenizer.bosId!, ...ids.slice(start, start + WINDOW)]);
        xents.push(xent.reduce((a, b) => a + b, 0) / xent.length);
      }
    }
    expect(result.windows).toBe(xents.length);
    expect(result.documents).toBe(3);
    const sorted = Float32Array.from(xents).sort();
    for (const [i, q] of quantiles.entries()) {
      expect(result.thresholds[i]?.q).toBe(q);
      expect(result.thresholds[i]?.xent).toBeCloseTo(quantileOfSorted(sorted, q), 5);
    }
    expect(result.stats.count).toBe(xents.length);
    expect(result.stats.max).toBeCloseTo(Math.max(...xents), 5);
    expect(result.thresholds.at(-1)?.xent).toBe(result.stats.max);
  }, 120_000);

  it('names a quantile out of range and a corpus too short for one window', async () => {
    await expect(xentThreshold({ model, corpus: [corpus], quantiles: [0] })).rejects.toThrow(ScanError);
    await expect(xentThreshold({ model, corpus: [corpus], quantiles: [1.5] })).rejects.toThrow(/\(0, 1\]/);
    await expect(xentThreshold({ model, corpus: [corpus], window: 200 })).rejects.toThrow(
      /no window of 200 tokens/,
    );
  });
});

describe('quantileOfSorted', () => {
  it('takes the ⌈q·n⌉-th smallest value', () => {
    const sorted = Float32Array.from([1, 2, 3, 4]);
    expect([0.01, 0.25, 0.26, 0.5, 0.75, 1].map((q) => quantileOfSorted(sorted, q))).toEqual([
      1, 1, 2, 2, 3, 4,
    ]);
  });
});
