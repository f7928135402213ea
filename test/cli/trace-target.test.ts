import { describe, expect, it } from 'vitest';
import { traceModel } from '../../src/cli/commands/trace.ts';
import { favouredSwaps } from '../../src/dream/favoured.ts';
import { loadModel } from '../../src/models/load.ts';

describe('reverie trace --target', () => {
  it('reports the target as the hook value at the last position and k favoured tokens per optimized position', async () => {
    const model = await loadModel('karpathy/tinyllamas/stories260K');
    const ids = model.tokenizer!.encode('Once upon a time there was');
    const hook = 'blocks.3.mlp.hook_post';
    const trace = await traceModel(model, ids, [hook], 1);
    const swaps = await favouredSwaps(model, ids, `${hook}[7]`, { k: 6, threads: 1 });
    expect(swaps.target.value).toBeCloseTo(trace.hooks[hook]!.at(-1)![7]!, 5);
    expect(swaps.favoured.map((f) => f.position)).toEqual(ids.slice(1).map((_, t) => t + 1)); // BOS stays
    const special = new Set(model.tokenizer!.specialIds);
    for (const { ids: favoured } of swaps.favoured) {
      expect(favoured).toHaveLength(6);
      expect(new Set(favoured).size).toBe(6);
      expect(favoured.some((id) => special.has(id))).toBe(false);
    }
  });
});
