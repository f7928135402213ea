/**
 * Short runs whose histories were recorded before src/dream was restructured (issue 11), so that any change
 * to how EPO is stepped or evaluated that alters a result shows here. Choices (ids, kept indices, restart
 * penalties, the RNG state) must match exactly; target and xent to float32 rounding, since ONNX Runtime's
 * kernels may round differently on another processor. `REVERIE_PIN=write` records them again.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IterationRecord } from '../../src/dream/epo.ts';
import type { EpoOptions } from '../../src/dream/options.ts';
import { dream } from '../../src/dream/run.ts';
import { MemorySink } from '../../src/dream/memory-sink.ts';
import { loadModel } from '../../src/models/load.ts';

const SMALL: Partial<EpoOptions> = {
  preset: 'dreamy',
  iters: 10,
  population: 4,
  childrenPerMember: 8,
  threads: 1,
  restartEvery: 4,
};

const CASES: { name: string; model: string; target: string; options: Partial<EpoOptions> }[] = [
  {
    name: 'stories260K-incremental',
    model: 'karpathy/tinyllamas/stories260K',
    target: 'blocks.3.mlp.hook_post[9]',
    options: { ...SMALL, topk: 32 },
  },
  {
    name: 'stories260K-full-every-token',
    model: 'karpathy/tinyllamas/stories260K',
    target: 'logit:Lily',
    options: { ...SMALL, evaluation: 'full' },
  },
  {
    name: 'gpt-neox-fixture-incremental',
    model: '../shared/fixtures/gpt-neox-tiny-random',
    target: 'blocks.1.mlp.hook_post[3]',
    options: { ...SMALL, topk: 16 },
  },
];

interface Pinned {
  choices: (Omit<IterationRecord, 'seconds' | 'candidates'> & { ids: number[][] })[];
  values: { target: number[]; xent: number[] }[];
}

function pin(history: IterationRecord[]): Pinned {
  return {
    choices: history.map(({ seconds: _, candidates, ...rest }) => ({
      ...rest,
      ids: candidates.map((c) => c.ids),
    })),
    values: history.map(({ candidates }) => ({
      target: candidates.map((c) => c.target),
      xent: candidates.map((c) => c.xent),
    })),
  };
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'reverie-pinned-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.each(CASES)('the pinned run $name', ({ name, model: id, target, options }) => {
  it('replays the recorded history', async () => {
    const model = await loadModel(id);
    const sink = new MemorySink();
    await dream({ model, modelSha256: 'test', target, options, sink });
    const got = pin(sink.history);
    const file = join(import.meta.dirname, 'pinned', `${name}.json`);
    if (process.env.REVERIE_PIN === 'write' || !existsSync(file)) {
      if (process.env.CI) throw new Error(`${file} is missing: record it with REVERIE_PIN=write`);
      writeFileSync(file, `${JSON.stringify(got)}\n`);
    }
    const want = JSON.parse(readFileSync(file, 'utf8')) as Pinned;
    expect(got.choices).toEqual(want.choices);
    want.values.forEach((w, i) => {
      const g = got.values[i]!;
      for (const key of ['target', 'xent'] as const)
        w[key].forEach((v, j) =>
          expect(Math.abs(g[key][j]! - v)).toBeLessThanOrEqual(1e-4 * Math.max(1, Math.abs(v))),
        );
    });
  });
});
