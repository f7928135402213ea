import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmptyCorpusError, readDocuments } from '../../src/data/corpus.ts';
import { scanCorpus, ScanError, type ScanExample } from '../../src/data/scan.ts';
import { input } from '../../src/graph/index.ts';
import { loadModel } from '../../src/models/load.ts';
import type { Model } from '../../src/models/model.ts';
import { compile } from '../../src/runtime/index.ts';

const TARGET = 'blocks.4.mlp.hook_post[0]';
const WINDOW = 6;
const dir = mkdtempSync(join(tmpdir(), 'reverie-scan-'));
const text = join(dir, 'stories.txt');
const jsonl = join(dir, 'more.jsonl');
let model: Model;

beforeAll(async () => {
  model = await loadModel('karpathy/tinyllamas/stories260K');
  writeFileSync(
    text,
    'Tom said, "Thank you, mom!"\n\nShe smiled and said, "Thank you."\nThe end.\n\nHi.\n\n' +
      'The bird said, "Thank you for the seeds."',
  );
  writeFileSync(
    jsonl,
    ['{"text": "Lily said thank you to the dog."}', '{"text": "Once upon a time."}'].join('\n'),
  );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Every window of every document, each evaluated on its own: one run per window, xent from the logits in float64. */
async function bruteForce(files: string[]): Promise<Omit<ScanExample, 'text' | 'source'>[]> {
  const tokenizer = model.tokenizer!;
  const L = WINDOW + 1;
  const tokens = input('tokens', 'int64', [1, L]);
  const { logits, hooks } = model.build({ tokens, hooks: ['blocks.4.mlp.hook_post'] });
  const session = await compile({
    outputs: { logits: logits!, hook: hooks['blocks.4.mlp.hook_post']! },
    threads: 1,
  });
  const all: Omit<ScanExample, 'text' | 'source'>[] = [];
  const seen = new Set<string>();
  const V = model.config.vocabSize;
  try {
    for (const file of files)
      for await (const doc of readDocuments(file)) {
        const ids = tokenizer.encode(doc.text, { bos: false });
        for (let s = 0; s + WINDOW <= ids.length; s++) {
          const window = ids.slice(s, s + WINDOW);
          if (seen.has(window.join(','))) continue;
          seen.add(window.join(','));
          const seq = [1, ...window];
          const out = await session.run({
            tokens: { dtype: 'int64', shape: [1, L], data: BigInt64Array.from(seq, BigInt) },
          });
          const lg = out.logits!.data as Float32Array;
          const hook = out.hook!.data as Float32Array; // [1,L,I]
          const I = hook.length / L;
          let xent = 0;
          for (let t = 0; t < L - 1; t++) {
            const row = Array.from(lg.subarray(t * V, (t + 1) * V));
            const max = Math.max(...row);
            const lse = max + Math.log(row.reduce((a, v) => a + Math.exp(v - max), 0));
            xent += lse - (row[seq[t + 1]!] as number);
          }
          all.push({ ids: window, activation: hook[(L - 1) * I] as number, xent: xent / (L - 1) });
        }
      }
  } finally {
    await session.dispose();
  }
  return all.sort((a, b) => b.activation - a.activation);
}

describe('scanning a corpus', () => {
  it('keeps the same top windows, activations and cross-entropies as evaluating every window alone', async () => {
    const brute = await bruteForce([text, jsonl]);
    expect(brute.length).toBeGreaterThan(20);
    const scan = await scanCorpus({
      model,
      target: TARGET,
      corpus: [text, jsonl],
      window: WINDOW,
      top: 7,
      batchSize: 5,
      threads: 1,
    });
    expect(scan).toMatchObject({ model: model.id, target: TARGET, window: WINDOW, bos: 1, documents: 6 });
    expect(scan.examples.map((e) => e.ids)).toEqual(brute.slice(0, 7).map((e) => e.ids));
    scan.examples.forEach((e, i) => {
      expect(e.activation).toBeCloseTo(brute[i]!.activation, 4);
      expect(e.xent).toBeCloseTo(brute[i]!.xent, 4);
      expect(e.text).toBe(model.tokenizer!.decode(e.ids));
    });
    for (const e of scan.examples) {
      const docs: string[] = [];
      for await (const d of readDocuments(e.source.file)) docs.push(d.text);
      const ids = model.tokenizer!.encode(docs[e.source.document]!, { bos: false });
      expect(ids.slice(e.source.token, e.source.token + WINDOW)).toEqual(e.ids);
    }
  });

  it('gives the same examples whatever the batch size, and counts every token it read', async () => {
    const a = await scanCorpus({
      model,
      target: TARGET,
      corpus: [text],
      window: WINDOW,
      top: 4,
      batchSize: 1,
      threads: 1,
    });
    const b = await scanCorpus({
      model,
      target: TARGET,
      corpus: [text],
      window: WINDOW,
      top: 4,
      batchSize: 64,
      threads: 1,
    });
    expect(b.examples.map((e) => e.ids)).toEqual(a.examples.map((e) => e.ids));
    const tokens = ['Tom said, "Thank you, mom!"', 'She smiled and said, "Thank you."\nThe end.', 'Hi.'];
    const counts = [...tokens, 'The bird said, "Thank you for the seeds."'].map(
      (d) => model.tokenizer!.encode(d, { bos: false }).length,
    );
    expect(a.tokensScanned).toBe(counts.reduce((x, y) => x + y, 0));
    expect(a.windows).toBe(counts.reduce((x, n) => x + Math.max(0, n - WINDOW + 1), 0));
  });

  it('fails with named errors on an empty corpus and on a window the model cannot hold', async () => {
    const empty = join(dir, 'empty.txt');
    writeFileSync(empty, '\n\n');
    await expect(scanCorpus({ model, target: TARGET, corpus: [empty], threads: 1 })).rejects.toThrow(
      EmptyCorpusError,
    );
    await expect(scanCorpus({ model, target: TARGET, corpus: [text], window: 600 })).rejects.toThrow(
      ScanError,
    );
  });
});
