import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IterationRecord } from '../../src/dream/epo.ts';
import { MemorySink } from '../../src/dream/memory-sink.ts';
import { defaultEvaluation } from '../../src/dream/engine/evaluator.ts';
import { dream, resumeDream, type DreamRequest } from '../../src/dream/run.ts';
import type { RunSummary } from '../../src/dream/records.ts';
import { loadModel } from '../../src/models/load.ts';
import type { Model } from '../../src/models/model.ts';
import { PYTHIA_70M_SHAPE } from '../../src/models/random.ts';
import { parseHfConfig } from '../../src/io/hf-config.ts';

let model: Model;
let dir: string;
const SMALL = {
  iters: 12,
  population: 4,
  childrenPerMember: 16,
  topk: 64,
  threads: 1,
  restartEvery: 5,
  evaluation: 'incremental' as const,
};

beforeAll(async () => {
  model = await loadModel('karpathy/tinyllamas/stories260K');
  dir = mkdtempSync(join(tmpdir(), 'reverie-incremental-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function run(request: Partial<DreamRequest> = {}) {
  const sink = new MemorySink();
  const summary: RunSummary = await dream({
    model,
    modelSha256: 'test',
    target: 'blocks.4.mlp.hook_post[0]',
    options: SMALL,
    sink,
    ...request,
  });
  return { summary, history: sink.history, sink };
}

const untimed = (history: IterationRecord[]) => history.map(({ seconds: _, ...rest }) => rest);

describe('EPO with incremental evaluation', () => {
  it('records the evaluation in run.json and evaluates what full evaluation would', async () => {
    const incremental = await run({ options: { ...SMALL, iters: 1 } });
    const full = await run({ options: { ...SMALL, iters: 1, evaluation: 'full' } });
    expect(incremental.summary.evaluation).toBe('incremental');
    expect(full.summary.evaluation).toBe('full');
    const a = incremental.history[0]!.candidates;
    const b = full.history[0]!.candidates;
    expect(a.map((c) => c.ids)).toEqual(b.map((c) => c.ids));
    a.forEach((c, i) => {
      expect(c.target).toBeCloseTo(b[i]!.target, 4);
      expect(c.xent).toBeCloseTo(b[i]!.xent, 4);
    });
  });

  it('replays the same history from the same seed', async () => {
    const a = await run();
    const b = await run();
    expect(untimed(b.history)).toEqual(untimed(a.history));
  });

  it('resumes a stored run to the same result as an uninterrupted one', async () => {
    const whole = await run({ options: { ...SMALL, iters: 10 } });
    const first = await run({ options: { ...SMALL, iters: 6 } });
    const resumed = await resumeDream({
      model,
      modelSha256: 'test',
      from: first.sink.stored(),
      sink: first.sink,
      iters: 4,
    });
    expect(resumed.evaluation).toBe('incremental');
    expect(untimed(first.sink.history)).toEqual(untimed(whole.history));
    expect(resumed.population).toEqual(whole.summary.population);
  });

  it('is the default', async () => {
    expect(defaultEvaluation(model.config)).toBe('incremental');
    expect(defaultEvaluation(parseHfConfig(PYTHIA_70M_SHAPE, 'pythia-70m-shape'))).toBe('incremental');
    const { summary } = await run({ options: { ...SMALL, iters: 1, evaluation: 'auto' } });
    expect(summary.evaluation).toBe('incremental');
  });
});
