/**
 * The perplexity filter (--max-xent): once a candidate within it is found, no candidate above it enters the
 * population again; without one, selection is EPO's own (no filter changes nothing).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { dream } from '../../src/dream/run.ts';
import { OptionsError } from '../../src/dream/options.ts';
import { loadModel } from '../../src/models/load.ts';
import type { Model } from '../../src/models/model.ts';

let model: Model;
beforeAll(async () => {
  model = await loadModel('karpathy/tinyllamas/stories260K');
});

const SMALL = { iters: 40, population: 4, childrenPerMember: 8, topk: 32, seed: 3, threads: 1 };

describe('maxXent', () => {
  it('keeps every member within the filter once one is', async () => {
    const limit = 5;
    const run = await dream({
      model,
      target: 'blocks.4.mlp.hook_post[0]',
      options: { ...SMALL, maxXent: limit },
    });
    const history = run.history ?? [];
    let inside = false;
    let checked = 0;
    for (const record of history) {
      const kept = record.keep.map((k) => record.candidates[k] as { xent: number });
      if (inside) {
        for (const member of kept) expect(member.xent).toBeLessThanOrEqual(limit);
        checked++;
      }
      inside ||= record.candidates.some((c) => c.xent <= limit);
    }
    expect(checked).toBeGreaterThan(10); // the filter was met early and held from then on
    expect(run.population.every((m) => m.xent <= limit)).toBe(true);
  }, 120_000);

  it('changes nothing at 0, and refuses a negative one', async () => {
    const plain = await dream({
      model,
      target: 'blocks.4.mlp.hook_post[0]',
      options: { ...SMALL, iters: 5 },
    });
    const zero = await dream({
      model,
      target: 'blocks.4.mlp.hook_post[0]',
      options: { ...SMALL, iters: 5, maxXent: 0 },
    });
    expect(zero.history?.map((r) => r.keep)).toEqual(plain.history?.map((r) => r.keep));
    await expect(
      dream({ model, target: 'blocks.4.mlp.hook_post[0]', options: { ...SMALL, maxXent: -1 } }),
    ).rejects.toThrow(OptionsError);
  }, 120_000);
});
