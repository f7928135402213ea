import { describe, expect, it } from 'vitest';
import { TopK } from '../../src/data/heap.ts';
import { Rng } from '../../src/graph/rng.ts';

interface Item {
  key: string;
  value: number;
  order: number;
}

const better = (a: Item, b: Item) => a.value > b.value || (a.value === b.value && a.order < b.order);

describe('the top-k heap', () => {
  it('keeps the k best distinct items of a stream, as sorting the whole stream would', () => {
    const rng = new Rng(3);
    const stream: Item[] = Array.from({ length: 2000 }, (_, order) => {
      const key = String(rng.int(700)); // repeated keys, as repeated windows of a corpus
      return { key, value: Number(key) % 97, order };
    });
    const heap = new TopK<Item>(25, better, (i) => i.key);
    for (const item of stream) heap.push(item);
    const firstOfKey = new Map<string, Item>();
    for (const item of stream) if (!firstOfKey.has(item.key)) firstOfKey.set(item.key, item);
    const brute = [...firstOfKey.values()]
      .sort((a, b) => b.value - a.value || a.order - b.order)
      .slice(0, 25);
    expect(heap.sorted()).toEqual(brute);
    expect(heap.size).toBe(25);
  });

  it('keeps nothing when k is 0 and everything when the stream is shorter than k', () => {
    const none = new TopK<Item>(0, better, (i) => i.key);
    expect(none.push({ key: 'a', value: 1, order: 0 })).toBe(false);
    const all = new TopK<Item>(5, better, (i) => i.key);
    all.push({ key: 'a', value: 1, order: 0 });
    all.push({ key: 'b', value: 3, order: 1 });
    expect(all.sorted().map((i) => i.key)).toEqual(['b', 'a']);
    expect(all.worst?.key).toBe('a');
  });
});
