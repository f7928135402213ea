import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { input } from '../../src/graph/index.ts';
import { generate, loadModel, type Model } from '../../src/models/index.ts';
import { compile, nodeRuntime } from '../../src/runtime/index.ts';

const reference = JSON.parse(readFileSync('../shared/reference/stories260K.json', 'utf8')) as {
  greedy_from_bos_ids: number[];
  logits_pos0_after_bos: number[];
  logits_pos1: number[];
  logits_pos2: number[];
  "sum_nll_of_'Once upon a time'_given_bos": number;
};
const greedy = reference.greedy_from_bos_ids;
const V = 512;
const BOS = 1;

/** Logits [T, V] of one sequence. */
async function forward(model: Model, ids: number[]): Promise<Float32Array> {
  const tokens = input('tokens', 'int64', [1, ids.length]);
  const session = await compile({ outputs: { logits: model.build({ tokens }).logits! }, threads: 1 });
  const out = await session.run({
    tokens: { dtype: 'int64', shape: [1, ids.length], data: BigInt64Array.from(ids, BigInt) },
  });
  await session.dispose();
  return out.logits!.data as Float32Array;
}

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) =>
  Array.from(a).reduce((worst, v, i) => Math.max(worst, Math.abs(v - (b[i] as number))), 0);

describe('stories260K, the llama2.c checkpoint', () => {
  let model: Model;
  beforeAll(async () => {
    model = await loadModel('karpathy/tinyllamas/stories260K');
  });

  it('loads as a Llama with interleaved RoPE, a tied head and its tok512 tokenizer', () => {
    expect(model.config).toMatchObject({
      arch: 'llama',
      layers: 5,
      heads: 8,
      kvHeads: 4,
      rope: 'interleaved',
    });
    expect(model.config.arch === 'llama' && model.config.tiedEmbeddings).toBe(true);
    expect(model.tokenizer?.vocabSize).toBe(V);
  });

  it('computes the reference logits at the first three greedy positions to 1e-4', async () => {
    const logits = await forward(model, [BOS, greedy[0]!, greedy[1]!]);
    const expected = [reference.logits_pos0_after_bos, reference.logits_pos1, reference.logits_pos2];
    expected.forEach((row, t) =>
      expect(maxAbsDiff(logits.subarray(t * V, (t + 1) * V), row)).toBeLessThan(1e-4),
    );
  });

  it('predicts every reference greedy token as the argmax after its prefix', async () => {
    const ids = [BOS, ...greedy.slice(0, -1)];
    const logits = await forward(model, ids);
    const argmax = ids.map((_, t) => {
      const row = logits.subarray(t * V, (t + 1) * V);
      return row.indexOf(Math.max(...row));
    });
    expect(argmax).toEqual(greedy);
  });

  it('gives "Once upon a time" the reference negative log-likelihood after BOS', async () => {
    const ids = model.tokenizer!.encode('Once upon a time');
    const logits = await forward(model, ids);
    let nll = 0;
    for (let t = 1; t < ids.length; t++) {
      const row = Array.from(logits.subarray((t - 1) * V, t * V));
      const max = Math.max(...row);
      nll += max + Math.log(row.reduce((s, l) => s + Math.exp(l - max), 0)) - row[ids[t]!]!;
    }
    expect(nll).toBeCloseTo(reference["sum_nll_of_'Once upon a time'_given_bos"], 4);
  });

  it('generates the 256 reference greedy tokens from BOS with one symbolic-length session', async () => {
    const ids = await generate(model, { runtime: nodeRuntime, prompt: [BOS], maxTokens: 256, threads: 1 });
    expect(ids).toEqual(greedy);
  });

  it('samples reproducibly from a seed at temperature 1', async () => {
    const run = (seed: number) =>
      generate(model, {
        runtime: nodeRuntime,
        prompt: [BOS],
        maxTokens: 12,
        temperature: 1,
        seed,
        threads: 1,
      });
    const [a, b, c] = [await run(7), await run(7), await run(8)];
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
  });
});

describe('reverie generate', () => {
  it('at temperature 0 from BOS prints the published stories260K greedy story', async () => {
    const { stdout } = await promisify(execFile)('./bin/reverie.js', ['generate', '--temperature', '0'], {
      env: process.env,
    });
    expect(stdout).toMatch(
      /^Once upon a time, there was a little girl named Lily\. She loved to play outside in the park\. /,
    );
    const model = await loadModel('karpathy/tinyllamas/stories260K');
    expect(stdout).toBe(`${model.tokenizer!.decode([BOS, ...greedy])}\n`);
  });
});
