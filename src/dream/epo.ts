import { slotPenalties, type EpoOptions } from './options.ts';
import { Rng } from '../graph/rng.ts';

/** A prompt (its optimized token ids) with its target activation and cross-entropy. */
export interface Candidate {
  ids: number[];
  target: number;
  xent: number;
}

/** A population member: a candidate in a penalty slot, with its gradient's top-k tokens per position. */
export interface Member extends Candidate {
  penalty: number;
  /** [seqLen × k] token ids, most favoured first. */
  topk: Int32Array;
  /** What an incremental evaluator keeps for this member's children (its prefix cache); opaque here. */
  cache?: unknown;
}

/** A child: its ids, its parent, and the one position where they differ. */
export interface Child {
  ids: number[];
  parent: Member;
  position: number;
}

/** The compiled programs EPO runs, over batches of optimized-token ids. */
export interface EpoEvaluator {
  readonly seqLen: number;
  readonly topk: number;
  fitness(ids: readonly number[][]): Promise<{ target: number[]; xent: number[] }>;
  /** Also returns, for an incremental evaluator, each prompt's cache. */
  gradient(
    ids: readonly number[][],
    penalties: readonly number[],
  ): Promise<{ target: number[]; xent: number[]; topk: Int32Array[]; caches?: readonly unknown[] }>;
  /** Incremental evaluation, where offered: children evaluated from their parents' caches. */
  readonly incremental?: {
    fitness(children: readonly Child[]): Promise<{ target: number[]; xent: number[] }>;
    /** The caches of members that have none (a resumed population). */
    caches(members: readonly Member[]): Promise<readonly unknown[]>;
  };
}

/** One line of history: every candidate (parents first, then children), the kept indices, the RNG state after. */
export interface IterationRecord {
  iter: number;
  candidates: Candidate[];
  keep: number[];
  seconds: number;
  rng: number[];
  /** New evaluations this iteration (candidates seen before are not evaluated again). */
  evaluated: number;
  /** Children dropped before evaluation because their text does not re-encode to their ids. */
  dropped: number;
  restartPenalty?: number;
}

export interface EpoState {
  /** The next iteration to run. */
  iter: number;
  population: Member[];
  rng: Rng;
  /** Every candidate evaluated in this run, by ids. */
  seen: Map<string, { target: number; xent: number }>;
  evaluations: number;
}

export interface EpoHooks {
  /** Whether a child may be evaluated (the round-trip check). */
  accept?(ids: readonly number[]): boolean;
}

const keyOf = (ids: readonly number[]): string => ids.join(',');
const loss = (c: Candidate, penalty: number): number => -c.target + penalty * c.xent;

function argminLoss(candidates: readonly Candidate[], penalty: number): number {
  let best = 0;
  for (let i = 1; i < candidates.length; i++)
    if (loss(candidates[i] as Candidate, penalty) < loss(candidates[best] as Candidate, penalty)) best = i;
  return best;
}

/** Draws the random initial prompts from the allowed tokens (one sequence per slot). */
export function randomPrompts(
  rng: Rng,
  count: number,
  seqLen: number,
  allowed: readonly number[],
): number[][] {
  return Array.from({ length: count }, () =>
    Array.from({ length: seqLen }, () => allowed[rng.int(allowed.length)] as number),
  );
}

/** Members for `prompts` in slots of the given penalties: their fitness, gradient top-k and (incremental) caches. */
export async function withGradients(
  evaluator: EpoEvaluator,
  prompts: readonly number[][],
  penalties: readonly number[],
): Promise<Member[]> {
  const { target, xent, topk, caches } = await evaluator.gradient(prompts, penalties);
  return prompts.map((ids, i) => ({
    ids: [...ids],
    target: target[i] as number,
    xent: xent[i] as number,
    penalty: penalties[i] as number,
    topk: topk[i] as Int32Array,
    ...(caches && { cache: caches[i] }),
  }));
}

/** Step 1–2: the initial population (given prompts, or random allowed tokens) and its gradients. */
export async function initEpo(
  evaluator: EpoEvaluator,
  options: EpoOptions,
  allowed: readonly number[],
  initial?: readonly number[][],
): Promise<EpoState> {
  const rng = new Rng(options.seed);
  const penalties = slotPenalties(options);
  const prompts = initial?.length
    ? penalties.map((_, i) => [...(initial[i % initial.length] as number[])])
    : randomPrompts(rng, penalties.length, options.seqLen, allowed);
  const population = await withGradients(evaluator, prompts, penalties);
  const seen = new Map(population.map((m) => [keyOf(m.ids), { target: m.target, xent: m.xent }]));
  return { iter: 0, population, rng, seen, evaluations: seen.size };
}

/** Steps 3–7 of one iteration: children, fitness, selection (or restart), gradients of new members. */
export async function stepEpo(
  state: EpoState,
  evaluator: EpoEvaluator,
  options: EpoOptions,
  hooks: EpoHooks = {},
): Promise<IterationRecord> {
  const started = performance.now();
  const { rng, population } = state;
  const M = population.length;
  const { incremental } = evaluator;
  if (incremental) {
    // A resumed population has no caches yet; they depend only on the members, not on the RNG.
    const uncached = population.filter((m) => m.cache === undefined);
    if (uncached.length > 0) {
      const caches = await incremental.caches(uncached);
      uncached.forEach((m, i) => (m.cache = caches[i]));
    }
  }

  // 3. Child j of parent j mod M changes one uniform position to a token uniform over the parent's top-k there.
  const children: Child[] = [];
  let dropped = 0;
  for (let j = 0; j < M * options.childrenPerMember; j++) {
    const parent = population[j % M] as Member;
    const position = rng.int(evaluator.seqLen);
    const token = parent.topk[position * evaluator.topk + rng.int(evaluator.topk)] as number;
    const ids = [...parent.ids];
    ids[position] = token;
    if (hooks.accept && !hooks.accept(ids)) dropped++;
    else children.push({ ids, parent, position });
  }

  // 4. Fitness of the children not evaluated before in this run, each distinct prompt once (a child equal
  // to its parent has been seen). Incremental evaluation starts each from its parent's cached prefix.
  const fresh = [
    ...new Map(children.filter((c) => !state.seen.has(keyOf(c.ids))).map((c) => [keyOf(c.ids), c])).values(),
  ];
  for (let start = 0; start < fresh.length; start += options.batchSize) {
    const batch = fresh.slice(start, start + options.batchSize);
    const { target, xent } = incremental
      ? await incremental.fitness(batch)
      : await evaluator.fitness(batch.map((c) => c.ids));
    batch.forEach((c, i) =>
      state.seen.set(keyOf(c.ids), { target: target[i] as number, xent: xent[i] as number }),
    );
  }
  state.evaluations += fresh.length;

  // 5–6. Selection over parents ∪ children: slot i keeps argmin(−target + λ_i·xent), or on a restart
  // every slot keeps argmin(−target + λ_r·xent) with λ_r ~ U[min, max].
  const candidates: Candidate[] = [
    ...population.map(({ ids, target, xent }) => ({ ids, target, xent })),
    ...children.map(({ ids }) => ({
      ids,
      ...(state.seen.get(keyOf(ids)) as { target: number; xent: number }),
    })),
  ];
  const restart = options.restartEvery > 0 && state.iter > 0 && state.iter % options.restartEvery === 0;
  const restartPenalty = restart
    ? rng.uniform(options.restartPenaltyMin, options.restartPenaltyMax)
    : undefined;
  const keep = population.map((m) => argminLoss(candidates, restartPenalty ?? m.penalty));

  // 7. Survivors keep their gradients (same prompt, same penalty); new members get new ones.
  const next: (Member | undefined)[] = keep.map((k, slot) => (k === slot ? population[slot] : undefined));
  const needed = keep.flatMap((k, slot) => (next[slot] ? [] : [slot]));
  for (let start = 0; start < needed.length; start += options.batchSize) {
    const slots = needed.slice(start, start + options.batchSize);
    const prompts = slots.map((slot) => (candidates[keep[slot] as number] as Candidate).ids);
    const fresh = await withGradients(
      evaluator,
      prompts,
      slots.map((slot) => (population[slot] as Member).penalty),
    );
    slots.forEach((slot, i) => (next[slot] = fresh[i]));
  }
  state.population = next as Member[];
  const record: IterationRecord = {
    iter: state.iter,
    candidates,
    keep,
    seconds: (performance.now() - started) / 1000,
    rng: rng.state(),
    evaluated: fresh.length,
    dropped,
    ...(restartPenalty === undefined ? {} : { restartPenalty }),
  };
  state.iter++;
  return record;
}
