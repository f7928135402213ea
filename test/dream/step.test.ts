/**
 * EPO's steps (DESIGN.md §5) against a fake evaluator whose answers are simple functions of the prompt, so
 * that each rule of the algorithm can be checked by itself, without a model.
 */
import { describe, expect, it } from 'vitest';
import {
  initEpo,
  promptKey,
  stepEpo,
  type Candidate,
  type Child,
  type EpoEvaluator,
  type EpoState,
} from '../../src/dream/epo.ts';
import { resolveOptions, type EpoOptions } from '../../src/dream/options.ts';

/**
 * target = Σ ids mod 101, xent = (Σ ids mod 7)/2; the top-k at a position: the k tokens after its own; the
 * likeliest tokens: the k tokens 500 after it.
 */
class FakeEvaluator implements EpoEvaluator {
  readonly gradientCalls: number[][][] = [];
  readonly fitnessCalls: Child[][] = [];
  constructor(
    readonly seqLen: number,
    readonly topk: number,
    private readonly vocab: number,
  ) {}
  private score(ids: readonly number[]) {
    const sum = ids.reduce((s, v) => s + v, 0);
    return { target: sum % 101, xent: (sum % 7) / 2 };
  }
  async gradient(prompts: readonly (readonly number[])[]) {
    this.gradientCalls.push(prompts.map((p) => [...p]));
    const scores = prompts.map((p) => this.score(p));
    const topk = prompts.map((p) =>
      Int32Array.from({ length: this.seqLen * this.topk }, (_, i) => {
        const [t, j] = [Math.floor(i / this.topk), i % this.topk];
        return ((p[t] as number) + 1 + j) % this.vocab;
      }),
    );
    const likely = topk.map((row) => row.map((token) => (token + 499) % this.vocab));
    return { target: scores.map((s) => s.target), xent: scores.map((s) => s.xent), topk, likely };
  }
  async fitness(children: readonly Child[]) {
    this.fitnessCalls.push([...children]);
    const scores = children.map((c) => this.score(c.ids));
    return { target: scores.map((s) => s.target), xent: scores.map((s) => s.xent) };
  }
}

const loss = (c: Candidate, penalty: number) => -c.target + penalty * c.xent;
const argmin = (candidates: readonly Candidate[], penalty: number) =>
  candidates.reduce((best, c, i) => (loss(c, penalty) < loss(candidates[best]!, penalty) ? i : best), 0);

async function start(options: Partial<EpoOptions>, vocab = 1000, topk = 20) {
  const resolved = resolveOptions({
    preset: 'dreamy',
    seqLen: 5,
    population: 4,
    childrenPerMember: 6,
    ...options,
  });
  const evaluator = new FakeEvaluator(resolved.seqLen, topk, vocab);
  const allowed = Array.from({ length: vocab }, (_, v) => v);
  const state: EpoState = await initEpo(evaluator, resolved, allowed);
  return { evaluator, state, options: resolved };
}

describe('one EPO step', () => {
  it('makes child j from member j mod M, changing one position to a token of its top-k there', async () => {
    const { evaluator, state, options } = await start({ seed: 3 });
    const parents = state.population.map((m) => m.ids);
    const record = await stepEpo(state, evaluator, options);
    const children = record.candidates.slice(parents.length);
    expect(children).toHaveLength(4 * 6);
    children.forEach((child, j) => {
      const parent = parents[j % 4]!;
      const changed = child.ids.flatMap((id, t) => (id === parent[t] ? [] : [t]));
      expect(changed.length).toBe(1);
      const t = changed[0]!;
      const offset = (child.ids[t]! - parent[t]! + 1000) % 1000;
      expect(offset).toBeGreaterThanOrEqual(1);
      expect(offset).toBeLessThanOrEqual(20);
    });
    // What the evaluator was given: each child with its parent's ids and the position it changed.
    for (const c of evaluator.fitnessCalls.flat()) {
      const j = children.findIndex((k) => promptKey(k.ids) === promptKey(c.ids));
      expect(c.parent).toEqual(parents[j % 4]);
      expect(c.ids.filter((id, t) => id !== c.parent[t])).toEqual([c.ids[c.position]]);
    }
  });

  it('keeps in slot i the argmin of −target + λ_i·xent over parents and children', async () => {
    const { evaluator, state, options } = await start({ seed: 1, restartEvery: 0 });
    for (let i = 0; i < 5; i++) {
      const penalties = state.population.map((m) => m.penalty);
      const record = await stepEpo(state, evaluator, options);
      expect(record.restartPenalty).toBeUndefined();
      expect(record.keep).toEqual(penalties.map((p) => argmin(record.candidates, p)));
      expect(state.population.map((m) => m.ids)).toEqual(record.keep.map((k) => record.candidates[k]!.ids));
      expect(state.population.map((m) => m.penalty)).toEqual(penalties);
    }
  });

  it('restarts when i mod F = 0 and i > 0, every slot taking the argmin at the drawn λ_r', async () => {
    const { evaluator, state, options } = await start({ seed: 2, restartEvery: 3 });
    const restarts: number[] = [];
    for (let i = 0; i < 7; i++) {
      const record = await stepEpo(state, evaluator, options);
      if (record.restartPenalty === undefined) continue;
      restarts.push(record.iter);
      const lambda = record.restartPenalty;
      expect(lambda).toBeGreaterThanOrEqual(options.restartPenaltyMin);
      expect(lambda).toBeLessThanOrEqual(options.restartPenaltyMax);
      expect(record.keep).toEqual(record.keep.map(() => argmin(record.candidates, lambda)));
    }
    expect(restarts).toEqual([3, 6]); // not at 0, as the reference does
  });

  it('asks gradients only for new members: survivors keep theirs', async () => {
    const { evaluator, state, options } = await start({ seed: 4, restartEvery: 0 });
    for (let i = 0; i < 5; i++) {
      const before = [...state.population];
      const calls = evaluator.gradientCalls.length;
      const record = await stepEpo(state, evaluator, options);
      const renewed = record.keep.flatMap((k, slot) => (k === slot ? [] : [slot]));
      record.keep.forEach((k, slot) => {
        if (k === slot) expect(state.population[slot]).toBe(before[slot]);
      });
      const asked = evaluator.gradientCalls.slice(calls).flat();
      expect(asked).toEqual(renewed.map((slot) => record.candidates[record.keep[slot]!]!.ids));
    }
  });

  it('evaluates each distinct prompt once in a run', async () => {
    // A vocabulary of 3 tokens and a top-k of 1: most children repeat a prompt seen before.
    const { evaluator, state, options } = await start({ seed: 5 }, 3, 1);
    let evaluated = 0;
    for (let i = 0; i < 6; i++) evaluated += (await stepEpo(state, evaluator, options)).evaluated;
    const keys = evaluator.fitnessCalls.flat().map((c) => promptKey(c.ids));
    expect(new Set(keys).size).toBe(keys.length);
    const initial = new Set(evaluator.gradientCalls[0]!.map(promptKey));
    expect(keys.some((k) => initial.has(k))).toBe(false);
    expect(keys.length).toBe(evaluated);
    expect(state.evaluations).toBe(initial.size + evaluated);
    expect(evaluated).toBeLessThan(6 * 4 * 6);
  });

  it('drops the children a filter refuses, before evaluating them', async () => {
    const { evaluator, state, options } = await start({ seed: 6 });
    const record = await stepEpo(state, evaluator, options, (ids) => ids[0]! % 2 === 0);
    expect(evaluator.fitnessCalls.flat().every((c) => c.ids[0]! % 2 === 0)).toBe(true);
    expect(record.dropped + record.candidates.length - 4).toBe(4 * 6);
    expect(record.dropped).toBeGreaterThan(0);
  });

  it('draws the share of children asked for from the model’s likeliest tokens instead of the gradient’s', async () => {
    const offsets = async (likelyShare: number) => {
      const { evaluator, state, options } = await start({ seed: 7, likelyShare, childrenPerMember: 50 });
      const parents = state.population.map((m) => m.ids);
      const record = await stepEpo(state, evaluator, options);
      return record.candidates.slice(4).map((child, j) => {
        const parent = parents[j % 4]!;
        const t = child.ids.findIndex((id, i) => id !== parent[i]);
        return (child.ids[t]! - parent[t]! + 1000) % 1000;
      });
    };
    const fromLikely = (o: number[]) => o.filter((x) => x >= 500 && x < 520).length / o.length;
    expect(fromLikely(await offsets(0))).toBe(0);
    expect(fromLikely(await offsets(1))).toBe(1);
    const half = fromLikely(await offsets(0.5));
    expect(half).toBeGreaterThan(0.35);
    expect(half).toBeLessThan(0.65);
  });

  it('makes crossovers: the parent’s tokens before a cut, another member’s from it on', async () => {
    const { evaluator, state, options } = await start({ seed: 5, crossoverShare: 1, childrenPerMember: 20 });
    const parents = state.population.map((m) => m.ids);
    await stepEpo(state, evaluator, options);
    const given = evaluator.fitnessCalls.flat();
    expect(given.length).toBeGreaterThan(0);
    for (const c of given) {
      const j = parents.findIndex((p) => promptKey(p) === promptKey(c.parent));
      const crossed = parents.some(
        (other, o) =>
          o !== j &&
          [1, 2, 3, 4].some(
            (cut) => promptKey(c.ids) === promptKey([...c.parent.slice(0, cut), ...other.slice(cut)]),
          ),
      );
      expect(crossed).toBe(true);
      expect(c.position).toBe(c.ids.findIndex((id, t) => id !== c.parent[t]));
    }
  });

  it('makes shifts: a top-k token inserted (the last one dropped), or a token deleted (one appended)', async () => {
    const { evaluator, state, options } = await start({ seed: 6, shiftShare: 1, childrenPerMember: 20 });
    await stepEpo(state, evaluator, options);
    const kinds = { insert: 0, delete: 0 };
    for (const c of evaluator.fitnessCalls.flat()) {
      const p = c.parent;
      const inserted = [0, 1, 2, 3, 4].some(
        (i) => promptKey(c.ids.filter((_, t) => t !== i)) === promptKey(p.slice(0, 4)),
      );
      const deleted = [0, 1, 2, 3, 4].some(
        (i) => promptKey(c.ids.slice(0, 4)) === promptKey(p.filter((_, t) => t !== i)),
      );
      expect(inserted || deleted).toBe(true);
      if (inserted) kinds.insert++;
      if (deleted) kinds.delete++;
      expect(c.position).toBe(c.ids.findIndex((id, t) => id !== p[t]));
    }
    expect(kinds.insert).toBeGreaterThan(0);
    expect(kinds.delete).toBeGreaterThan(0);
  });
});
