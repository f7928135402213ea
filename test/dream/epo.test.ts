import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IterationRecord } from '../../src/dream/epo.ts';
import { MemorySink } from '../../src/dream/memory-sink.ts';
import { dream, resumeDream, type DreamRequest } from '../../src/dream/run.ts';
import type { RunSummary } from '../../src/dream/records.ts';
import { roundTrips } from '../../src/dream/tokens.ts';
import { loadModel } from '../../src/models/load.ts';
import type { Model } from '../../src/models/model.ts';

let model: Model;
let dir: string;
const NEURON = 'blocks.4.mlp.hook_post[0]';
/** Small, fast settings for tests; the defaults are exercised by the benchmark and the CLI. */
const SMALL = {
  preset: 'dreamy' as const,
  iters: 30,
  population: 4,
  childrenPerMember: 16,
  topk: 64,
  threads: 1,
  restartEvery: 10,
};

beforeAll(async () => {
  model = await loadModel('karpathy/tinyllamas/stories260K');
  dir = mkdtempSync(join(tmpdir(), 'reverie-epo-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function run(
  request: Partial<DreamRequest> = {},
): Promise<{ summary: RunSummary; history: IterationRecord[]; sink: MemorySink }> {
  const sink = new MemorySink();
  const summary = await dream({
    model,
    modelSha256: 'test',
    target: NEURON,
    options: SMALL,
    sink,
    ...request,
  });
  return { summary, history: sink.history, sink };
}

/** History without timings, for comparing runs. */
const untimed = (history: IterationRecord[]) => history.map(({ seconds: _, ...rest }) => rest);

describe('EPO on stories260K', () => {
  it('raises the best target well above the initial population and keeps a fluent prompt on the frontier', async () => {
    const { summary, history } = await run();
    const M = SMALL.population;
    const initial = history[0]!.candidates.slice(0, M);
    const initialBest = Math.max(...initial.map((c) => c.target));
    const best = Math.max(...summary.frontier.map((p) => p.target));
    expect(best).toBeGreaterThan(initialBest + 2);
    const randomXent = Math.min(...initial.map((c) => c.xent));
    expect(Math.min(...summary.frontier.map((p) => p.xent))).toBeLessThan(randomXent - 1);
    expect(history).toHaveLength(30);
    expect(summary.evaluations).toBeGreaterThan(1000);
  });

  it('replays the same history from the same seed', async () => {
    const a = await run({ options: { ...SMALL, iters: 12 } });
    const b = await run({ options: { ...SMALL, iters: 12 } });
    expect(untimed(b.history)).toEqual(untimed(a.history));
    const c = await run({ options: { ...SMALL, iters: 12, seed: 1 } });
    expect(untimed(c.history)).not.toEqual(untimed(a.history));
  });

  it.each([
    ['the dreamy preset', {}],
    ['children from the likeliest tokens', { likelyShare: 0.5 }],
  ])('resumes a stored run to the same result as an uninterrupted one (%s)', async (_, extra) => {
    const whole = await run({ options: { ...SMALL, ...extra, iters: 16 } });
    const first = await run({ options: { ...SMALL, ...extra, iters: 9 } });
    const resumed = await resumeDream({
      model,
      modelSha256: 'test',
      from: first.sink.stored(),
      sink: first.sink,
      iters: 7,
    });
    expect(untimed(first.sink.history)).toEqual(untimed(whole.history));
    expect(resumed.population).toEqual(whole.summary.population);
    expect(resumed.frontier).toEqual(whole.summary.frontier);
  });

  it('returns its history where no sink was given, and only then', async () => {
    const alone = await dream({
      model,
      modelSha256: 'test',
      target: NEURON,
      options: { ...SMALL, iters: 3 },
    });
    const { history, sink } = await run({ options: { ...SMALL, iters: 3 } });
    expect(untimed(alone.history!)).toEqual(untimed(history));
    expect(sink.summary).not.toHaveProperty('history');
  });

  it('runs GCG as a population of one with a fixed penalty', async () => {
    const { summary, history } = await run({ options: { ...SMALL, gcg: true, penalty: 0.5, iters: 10 } });
    expect(summary.population).toHaveLength(1);
    expect(summary.population[0]!.penalty).toBe(0.5);
    expect(history[0]!.candidates).toHaveLength(1 + SMALL.childrenPerMember);
  });

  it('never proposes banned tokens and drops children that do not round-trip before evaluating them', async () => {
    const { summary, history } = await run({
      options: { ...SMALL, iters: 10, ascii: true, roundTrip: true },
    });
    const special = new Set(model.tokenizer!.specialIds);
    for (const record of history)
      for (const c of record.candidates.slice(SMALL.population)) {
        expect(c.ids.some((id) => special.has(id))).toBe(false);
        expect(/^[\x20-\x7e]*$/.test(model.tokenizer!.decode(c.ids))).toBe(true);
        expect(roundTrips(model.tokenizer!, c.ids)).toBe(true);
      }
    expect(summary.dropped).toBe(history.reduce((s, r) => s + r.dropped, 0));
  });

  it('evaluates each distinct candidate once', async () => {
    const { summary, history } = await run({ options: { ...SMALL, iters: 10 } });
    const distinct = new Set(history.flatMap((r) => r.candidates.map((c) => c.ids.join(','))));
    expect(summary.evaluations).toBe(distinct.size);
  });

  it('starts from a given prompt', async () => {
    const initial = 'Once upon a time, there was a little girl'; // 12 tokens
    const { history } = await run({ initial, options: { ...SMALL, iters: 1, seqLen: 12 } });
    const ids = model.tokenizer!.encode(initial, { bos: false });
    expect(history[0]!.candidates[0]!.ids).toEqual(ids);
  });

  it('stops with a named error at the first candidate whose target is not finite', async () => {
    const huge = join(dir, 'huge-direction.json');
    writeFileSync(huge, JSON.stringify(Array.from({ length: 64 }, () => 3e38))); // the dot product overflows
    await expect(run({ target: `blocks.3.hook_resid_pre@dir:${huge}` })).rejects.toThrow(
      /iteration 0: the candidate ".*" \(ids [\d,]+\) has target (-?Infinity|NaN) and xent [\d.]+/,
    );
  });

  it('dreams each kind of target', async () => {
    const direction = join(dir, 'direction.json');
    writeFileSync(direction, JSON.stringify(Array.from({ length: 64 }, (_, i) => Math.sin(i))));
    const targets = [
      'blocks.2.hook_resid_post[5]',
      'blocks.1.mlp.hook_post[3]@-2',
      'logit:Lily',
      'logit:#265',
      `blocks.3.hook_resid_pre@dir:${direction}`,
      'blocks.1.attn.hook_pattern[h=2,k=0]',
    ];
    for (const target of targets) {
      const { summary, history } = await run({
        target,
        options: { ...SMALL, iters: 6 },
      });
      const start = Math.max(...history[0]!.candidates.slice(0, SMALL.population).map((c) => c.target));
      expect(Math.max(...summary.population.map((m) => m.target)), target).toBeGreaterThan(start);
    }
  });
});
