import { describe, expect, it } from 'vitest';
import { concat, constant, input, slice, type Node } from '../../src/graph/index.ts';
import { loadModel } from '../../src/models/load.ts';
import { compile } from '../../src/runtime/index.ts';

const FIXTURES = ['llama-tiny-random', 'gpt-neox-tiny-random', 'gpt2-tiny-random', 'stories260K-hf'];
const B = 2;
const T = 7;
const P = 3;

const maxAbsDiff = (a: Float32Array, b: Float32Array): number =>
  a.reduce((worst, v, i) => Math.max(worst, Math.abs(v - (b[i] as number))), 0);

describe.each(FIXTURES)('a build of the %s fixture from a cached prefix', (fixture) => {
  it('gives the logits, keys and values of a build of the whole sequence at the new positions', async () => {
    const model = await loadModel(`../shared/fixtures/${fixture}`);
    const ids = input('ids', 'int64', [B, T]);
    const whole = model.build({ tokens: ids });
    const prefix = model.build({ tokens: slice(ids, [1], [0], [P]) });
    const positions = constant(
      Array.from({ length: T - P }, (_, t) => P + t),
      [T - P],
      'int64',
    );
    const rest = model.build({
      tokens: slice(ids, [1], [P], [T]),
      positions,
      cache: {
        keys: prefix.keys,
        values: prefix.values,
        positions: constant([0, 1, 2], [P], 'int64'),
      },
    });
    const later = (x: Node, axis: number) => slice(x, [axis], [P], [T]);
    const outputs: Record<string, Node> = {
      wholeLogits: later(whole.logits!, 1),
      restLogits: rest.logits!,
      wholeKeys: concat(
        whole.keys.map((k) => later(k, 2)),
        1,
      ),
      restKeys: concat(rest.keys, 1),
      wholeValues: concat(
        whole.values.map((v) => later(v, 2)),
        1,
      ),
      restValues: concat(rest.values, 1),
    };
    const session = await compile({ outputs, threads: 1 });
    const data = BigInt64Array.from({ length: B * T }, (_, i) =>
      BigInt((i * 37 + 5) % model.config.vocabSize),
    );
    const out = await session.run({ ids: { dtype: 'int64', shape: [B, T], data } });
    await session.dispose();
    const get = (name: string) => out[name]!.data as Float32Array;
    expect(rest.keys).toHaveLength(model.config.layers);
    for (const [a, b] of [
      ['wholeLogits', 'restLogits'],
      ['wholeKeys', 'restKeys'],
      ['wholeValues', 'restValues'],
    ] as const) {
      expect(get(b).length).toBe(get(a).length);
      expect(maxAbsDiff(get(a), get(b)), `${a} vs ${b}`).toBeLessThan(1e-4);
    }
  });
});
