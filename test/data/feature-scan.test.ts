import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readDocuments } from '../../src/data/corpus.ts';
import {
  featureScanResult,
  scanFeatures,
  type DocumentExample,
  type FeatureScanResult,
} from '../../src/data/feature-scan.ts';
import { scanCorpus, ScanError } from '../../src/data/scan.ts';
import { writeSafetensors } from '../../src/io/safetensors.ts';
import { loadModel } from '../../src/models/load.ts';
import type { Model } from '../../src/models/model.ts';
import { trace } from '../../src/models/trace.ts';

const CORPUS = '../shared/corpora/tinystories/validation-head.txt';
const MAX_TOKENS = 2000;
const dir = mkdtempSync(join(tmpdir(), 'reverie-feature-scan-'));
let stories: Model;

beforeAll(async () => {
  stories = await loadModel('karpathy/tinyllamas/stories260K');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Each feature of a window-mode scan equals scanCorpus of its single-feature target. */
async function expectSingleScans(model: Model, scan: FeatureScanResult, top: number): Promise<void> {
  expect(scan.context).toBe('window');
  for (const [f, feature] of scan.features.entries()) {
    const single = await scanCorpus({
      model,
      target: feature.target,
      corpus: [CORPUS],
      maxTokens: MAX_TOKENS,
      top,
      threads: 1,
    });
    const mine = featureScanResult(scan, f);
    expect(mine.target).toBe(single.target);
    expect({ ...mine, examples: [], seconds: 0 }).toEqual({ ...single, examples: [], seconds: 0 });
    expect(mine.examples.map((e) => [e.ids, e.source, e.text])).toEqual(
      single.examples.map((e) => [e.ids, e.source, e.text]),
    );
    mine.examples.forEach((e, i) => {
      expect(Math.abs(e.activation - single.examples[i]!.activation)).toBeLessThan(1e-5);
      expect(Math.abs(e.xent - single.examples[i]!.xent)).toBeLessThan(1e-5);
    });
    // the statistics agree with the examples
    expect(feature.stats.count).toBe(scan.windows);
    expect(feature.stats.max).toBe(feature.examples[0]!.activation);
  }
}

describe('the multi-feature scan in window context', () => {
  it('gives each feature of a range and of a list the examples of its single-feature scan (stories260K)', async () => {
    for (const target of ['blocks.2.mlp.hook_post[0:8]', 'blocks.2.mlp.hook_post[3,17,40]']) {
      const scan = await scanFeatures({
        model: stories,
        target,
        corpus: [CORPUS],
        maxTokens: MAX_TOKENS,
        top: 6,
        threads: 1,
      });
      expect(scan).toMatchObject({
        model: stories.id,
        target,
        window: 12,
        bos: 1,
        tokensScanned: MAX_TOKENS,
      });
      expect(scan.features.map((f) => f.index)).toEqual(
        target.endsWith('[0:8]') ? [0, 1, 2, 3, 4, 5, 6, 7] : [3, 17, 40],
      );
      await expectSingleScans(stories, scan, 6);
    }
  });

  it('does so on a GPT-NeoX model too (the HF fixture, with the stories tokenizer)', async () => {
    const neox = await loadModel('../shared/fixtures/gpt-neox-tiny-random');
    const model: Model = { ...neox, tokenizer: stories.tokenizer! };
    const scan = await scanFeatures({
      model,
      target: 'blocks.1.mlp.hook_post[250:]',
      corpus: [CORPUS],
      maxTokens: MAX_TOKENS,
      top: 5,
      threads: 1,
    });
    expect(scan.features.map((f) => f.target)).toEqual(
      [250, 251, 252, 253, 254, 255].map((i) => `blocks.1.mlp.hook_post[${i}]`),
    );
    await expectSingleScans(model, scan, 5);
  });

  it('gives each feature of an SAE set the examples of the single SAE target', async () => {
    const [dIn, dSae] = [64, 6];
    writeSafetensors(join(dir, 'sae_weights.safetensors'), {
      W_enc: { shape: [dIn, dSae], data: Float32Array.from({ length: dIn * dSae }, (_, i) => Math.sin(i)) },
      b_enc: { shape: [dSae], data: Float32Array.from({ length: dSae }, (_, i) => i / 10) },
      W_dec: { shape: [dSae, dIn], data: new Float32Array(dSae * dIn) },
      b_dec: { shape: [dIn], data: Float32Array.from({ length: dIn }, (_, i) => Math.cos(i) / 4) },
    });
    const cfg = { hook_name: 'blocks.2.hook_resid_post', d_in: dIn, d_sae: dSae, apply_b_dec_to_input: true };
    writeFileSync(join(dir, 'cfg.json'), JSON.stringify(cfg));
    const all = await scanFeatures({
      model: stories,
      target: `sae:${dir}[*]`,
      corpus: [CORPUS],
      maxTokens: MAX_TOKENS,
      top: 4,
      threads: 1,
    });
    expect(all.features.map((f) => f.target)).toEqual([0, 1, 2, 3, 4, 5].map((i) => `sae:${dir}[${i}]`));
    await expectSingleScans(stories, all, 4);
    const some = await scanFeatures({
      model: stories,
      target: `sae:${dir}[4,1]`,
      corpus: [CORPUS],
      maxTokens: MAX_TOKENS,
      top: 4,
      threads: 1,
    });
    expect(some.features.map((f) => f.examples)).toEqual([
      all.features[4]!.examples,
      all.features[1]!.examples,
    ]);
  });
});

describe('the multi-feature scan in document context', () => {
  const CTX = 24;
  let scan: FeatureScanResult;
  beforeAll(async () => {
    scan = await scanFeatures({
      model: stories,
      target: 'blocks.2.mlp.hook_post[5:9]',
      corpus: [CORPUS],
      context: 'document',
      ctx: CTX,
      maxTokens: 1500,
      top: 5,
      batchSize: 7,
      threads: 1,
    });
  });

  it('reads every position of every document once, in chunks of BOS + ctx − 1 tokens', async () => {
    expect(scan).toMatchObject({ context: 'document', ctx: CTX, bos: 1, tokensScanned: 1500 });
    expect(scan.windows).toBe(1500);
    expect(scan.window).toBeUndefined();
    for (const f of scan.features) {
      expect(f.stats.count).toBe(1500);
      expect(f.examples).toHaveLength(5);
      expect(f.stats.max).toBe(f.examples[0]!.activation);
    }
    expect(() => featureScanResult(scan, 0)).toThrow(ScanError);
  });

  it('gives each example the activation of a plain forward of its chunk, at every token shown', async () => {
    const docs: number[][] = [];
    for await (const d of readDocuments(CORPUS)) {
      docs.push(stories.tokenizer!.encode(d.text, { bos: false }));
      if (docs.length > scan.documents) break;
    }
    const hook = 'blocks.2.mlp.hook_post';
    for (const feature of scan.features)
      for (const e of feature.examples as DocumentExample[]) {
        const doc = docs[e.source.document]!;
        const start = Math.floor(e.source.token / (CTX - 1)) * (CTX - 1);
        const chunk = doc.slice(start, start + CTX - 1);
        const t = e.source.token - start;
        expect(e.ids[e.at]).toBe(doc[e.source.token]);
        expect(e.ids).toEqual(chunk.slice(Math.max(0, t - 24), t + 9));
        expect(e.text).toBe(stories.tokenizer!.decode(e.ids));
        const traced = (await trace(stories, [1, ...chunk], { hooks: [hook], threads: 1 })).hooks[hook]!;
        const from = t - e.at;
        e.activations.forEach((a, i) =>
          expect(Math.abs(a - traced[1 + from + i]![feature.index]!)).toBeLessThan(1e-5),
        );
        expect(e.activation).toBe(e.activations[e.at]);
      }
  });

  it('refuses a position, which only window context reads', async () => {
    await expect(
      scanFeatures({
        model: stories,
        target: 'blocks.2.mlp.hook_post[0:2]@-2',
        corpus: [CORPUS],
        context: 'document',
        maxTokens: 100,
      }),
    ).rejects.toThrow(/document context reads every position/);
    await expect(
      scanFeatures({
        model: stories,
        target: 'blocks.2.mlp.hook_post[0:2]',
        corpus: [CORPUS],
        context: 'document',
        ctx: 1,
        maxTokens: 100,
      }),
    ).rejects.toThrow(/ctx must be an integer ≥ 2/);
  });
});
