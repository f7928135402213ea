import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { constant, input, reshape, slice, transpose, type Dim, type Node } from '../../src/graph/index.ts';
import { loadModel } from '../../src/models/load.ts';
import type { FirstBlockReuse, PackedSequences } from '../../src/models/model.ts';
import { compile } from '../../src/runtime/index.ts';

const FIXTURES = ['llama-tiny-random', 'gpt-neox-tiny-random', 'gpt2-tiny-random'];
const T = 6;
/** Children of one parent, each changed at one position. */
const CHANGED = [0, 2, 5];

const maxAbsDiff = (a: Float32Array, b: Float32Array): number =>
  a.reduce((worst, v, i) => Math.max(worst, Math.abs(v - (b[i] as number))), 0);
const int64 = (data: number[], shape: number[]) => constant(data, shape, 'int64');

/** Per-position rows [T, n·Dh] of a block's [1,n,T,Dh] queries, keys or values: the cache's layout. */
const rowsOf = (x: Node): Node => {
  const [, n, , Dh] = x.shape as [Dim, number, Dim, number];
  return reshape(transpose(x, [0, 2, 1, 3]), [T, n * Dh]);
};

/** The slots of the children packed after their parent (as src/dream/engine/incremental.ts lays them out). */
function layout() {
  const C = T; // the parent's rows
  const rows = (): number[] => [];
  const l = { positions: rows(), rowSlots: rows(), keySlots: rows(), querySlots: rows() };
  const first = { fresh: rows(), firstKeySlots: rows(), firstQuerySlots: rows(), localSlots: rows() };
  CHANGED.forEach((p, b) => {
    for (let t = 0; t < T; t++) {
      const firstBlockRow = t === p ? C + b : t;
      first.firstKeySlots.push(firstBlockRow);
      first.firstQuerySlots.push(t < p ? 0 : 1 + firstBlockRow);
      if (t < p) {
        l.keySlots.push(t);
        l.querySlots.push(0);
        continue;
      }
      const r = l.positions.length;
      if (t === p) first.fresh.push(r);
      first.localSlots.push(firstBlockRow);
      l.positions.push(t);
      l.rowSlots.push(b * T + t);
      l.keySlots.push(C + r);
      l.querySlots.push(1 + r);
    }
  });
  return { ...l, ...first };
}

describe.each(FIXTURES)('packed sequences of the %s fixture', (fixture) => {
  it('give the same logits with block 0 from the cache as with block 0 computed', async () => {
    const model = await loadModel(`../shared/fixtures/${fixture}`);
    const V = model.config.vocabSize;
    const parentIds = Array.from({ length: T }, (_, t) => (t * 37 + 5) % V);
    const childIds = CHANGED.map((p) => parentIds.map((id, t) => (t === p ? (id + 11) % V : id)));
    const s = layout();
    const R = s.positions.length;

    const parent = model.build({ tokens: input('parent', 'int64', [1, T]) });
    const ids = input('ids', 'int64', [1, R]);
    const packed: PackedSequences = {
      length: T,
      keys: parent.keys.map(rowsOf),
      values: parent.values.map(rowsOf),
      keySlots: int64(s.keySlots, [CHANGED.length, T]),
      querySlots: int64(s.querySlots, [CHANGED.length, T]),
      rowSlots: int64(s.rowSlots, [R]),
    };
    const local = parent.locals[0];
    const firstBlock: FirstBlockReuse = {
      fresh: int64(s.fresh, [CHANGED.length]),
      queries: rowsOf(parent.queries[0] as Node),
      keySlots: int64(s.firstKeySlots, [CHANGED.length, T]),
      querySlots: int64(s.firstQuerySlots, [CHANGED.length, T]),
      ...(local && {
        locals: reshape(local, [T, model.config.hidden]),
        localSlots: int64(s.localSlots, [R]),
      }),
    };
    const positions = int64(s.positions, [R]);
    const computed = model.build({ tokens: ids, positions, packed });
    const reused = model.build({ tokens: ids, positions, packed: { ...packed, firstBlock } });
    expect(reused.queries[0]!.shape[2]).toBe(CHANGED.length); // block 0 projected the fresh rows only
    if (local) expect(reused.locals[0]!.shape[1]).toBe(CHANGED.length);
    const whole = model.build({ tokens: input('children', 'int64', [CHANGED.length, T]) });
    const outputs: Record<string, Node> = { computed: computed.logits!, reused: reused.logits! };
    CHANGED.forEach((p, b) => {
      outputs[`whole${b}`] = slice(whole.logits!, [0, 1], [b, p], [b + 1, T]);
    });
    const session = await compile({ outputs, threads: 1 });
    const feed = (data: number[], shape: number[]) => ({
      dtype: 'int64' as const,
      shape,
      data: BigInt64Array.from(data, BigInt),
    });
    const out = await session.run({
      parent: feed(parentIds, [1, T]),
      ids: feed(
        CHANGED.flatMap((p, b) => (childIds[b] as number[]).slice(p)),
        [1, R],
      ),
      children: feed(childIds.flat(), [CHANGED.length, T]),
    });
    await session.dispose();
    const get = (name: string) => out[name]!.data as Float32Array;
    expect(get('reused').length).toBe(R * V);
    expect(maxAbsDiff(get('computed'), get('reused'))).toBeLessThan(1e-5);
    const wholeRows = new Float32Array(CHANGED.flatMap((_, b) => Array.from(get(`whole${b}`))));
    expect(maxAbsDiff(get('reused'), wholeRows)).toBeLessThan(1e-4);
  });
});

describe('the architecture files', () => {
  it.each(['llama', 'gpt-neox', 'gpt2'])('%s.ts holds its equations, not block-0 reuse', (name) => {
    const text = readFileSync(new URL(`../../src/models/${name}.ts`, import.meta.url), 'utf8');
    expect(text).not.toMatch(/fresh|packed|firstBlock|ownRows|localRows|\bcache/i);
  });
});
