/**
 * EPO, Evolutionary Prompt Optimization (Thompson, Straznickas & Sklar, "Fluent dreaming for language
 * models", 2024; DESIGN.md §5), as the algorithm alone: initial population, children, selection, restarts,
 * over one evaluator interface (EpoEvaluator). Members and children are plain data.
 */
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
  /** [seqLen × k] the model's likeliest tokens at each position, where the run proposes them (likelyShare). */
  likely?: Int32Array;
}

/** A child: its ids, its parent's, and the one position where they differ. */
export interface Child {
  ids: number[];
  parent: readonly number[];
  position: number;
}

/** Target and cross-entropy of each prompt evaluated. */
export interface Evaluated {
  target: number[];
  xent: number[];
}

/**
 * What EPO evaluates prompts with. How (batches, full or incremental evaluation, caches of the members'
 * prefixes) is the evaluator's affair: every answer depends on the prompts alone, so that runs replay.
 */
export interface EpoEvaluator {
  readonly seqLen: number;
  /** Tokens kept per position of a gradient's top-k. */
  readonly topk: number;
  /**
   * Per prompt: its target, xent, and at each position the top-k tokens of −∂(−target + λ·xent)/∂onehot
   * and, where the evaluator was asked for them, the k likeliest tokens under the model given the prefix.
   */
  gradient(
    prompts: readonly (readonly number[])[],
    penalties: readonly number[],
  ): Promise<Evaluated & { topk: Int32Array[]; likely?: Int32Array[] }>;
  /** Per child: its target and xent. */
  fitness(children: readonly Child[]): Promise<Evaluated>;
}

/** Whether a child may be evaluated at all (e.g. the round-trip check); a refused one is dropped. */
export type AcceptChild = (ids: readonly number[]) => boolean;

/** The key of a prompt in maps of prompts. */
export const promptKey = (ids: readonly number[]): string => ids.join(',');

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

/** Members for `prompts` in slots of the given penalties: their fitness and gradient top-k. */
export async function withGradients(
  evaluator: EpoEvaluator,
  prompts: readonly number[][],
  penalties: readonly number[],
): Promise<Member[]> {
  const { target, xent, topk, likely } = await evaluator.gradient(prompts, penalties);
  return prompts.map((ids, i) => ({
    ids: [...ids],
    target: target[i] as number,
    xent: xent[i] as number,
    penalty: penalties[i] as number,
    topk: topk[i] as Int32Array,
    ...(likely && { likely: likely[i] as Int32Array }),
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
  const seen = new Map(population.map((m) => [promptKey(m.ids), { target: m.target, xent: m.xent }]));
  return { iter: 0, population, rng, seen, evaluations: seen.size };
}

/** Steps 3–7 of one iteration: children, fitness, selection (or restart), gradients of new members. */
export async function stepEpo(
  state: EpoState,
  evaluator: EpoEvaluator,
  options: EpoOptions,
  accept?: AcceptChild,
): Promise<IterationRecord> {
  const started = performance.now();
  const { rng, population } = state;
  const M = population.length;

  // 3. Child j of parent j mod M changes one uniform position to a token uniform over the parent's top-k there
  // (or, with probability likelyShare, over the model's k likeliest tokens there).
  const children: Child[] = [];
  let dropped = 0;
  const k = evaluator.topk;
  for (let j = 0; j < M * options.childrenPerMember; j++) {
    const parent = population[j % M] as Member;
    const position = rng.int(evaluator.seqLen);
    const likely = options.likelyShare > 0 && rng.uniform(0, 1) < options.likelyShare;
    const source = likely ? (parent.likely as Int32Array) : parent.topk;
    const token = source[position * k + rng.int(k)] as number;
    const ids = [...parent.ids];
    ids[position] = token;
    if (accept && !accept(ids)) dropped++;
    else children.push({ ids, parent: parent.ids, position });
  }

  // 4. Fitness of the children not evaluated before in this run, each distinct prompt once (a child equal
  // to its parent has been seen).
  const unseen = [
    ...new Map(
      children.filter((c) => !state.seen.has(promptKey(c.ids))).map((c) => [promptKey(c.ids), c]),
    ).values(),
  ];
  if (unseen.length > 0) {
    const { target, xent } = await evaluator.fitness(unseen);
    unseen.forEach((c, i) =>
      state.seen.set(promptKey(c.ids), { target: target[i] as number, xent: xent[i] as number }),
    );
  }
  state.evaluations += unseen.length;

  // 5–6. Selection over parents ∪ children: slot i keeps argmin(−target + λ_i·xent), or on a restart
  // every slot keeps argmin(−target + λ_r·xent) with λ_r ~ U[min, max].
  const candidates: Candidate[] = [
    ...population.map(({ ids, target, xent }) => ({ ids, target, xent })),
    ...children.map(({ ids }) => ({
      ids,
      ...(state.seen.get(promptKey(ids)) as { target: number; xent: number }),
    })),
  ];
  const restart = options.restartEvery > 0 && state.iter > 0 && state.iter % options.restartEvery === 0;
  const restartPenalty = restart
    ? rng.uniform(options.restartPenaltyMin, options.restartPenaltyMax)
    : undefined;
  const keep = population.map((m) => argminLoss(candidates, restartPenalty ?? m.penalty));

  // 7. Survivors keep their gradients (same prompt, same penalty); new members get new ones.
  const next: (Member | undefined)[] = keep.map((k, slot) => (k === slot ? population[slot] : undefined));
  const renewed = keep.flatMap((k, slot) => (next[slot] ? [] : [slot]));
  if (renewed.length > 0) {
    const members = await withGradients(
      evaluator,
      renewed.map((slot) => (candidates[keep[slot] as number] as Candidate).ids),
      renewed.map((slot) => (population[slot] as Member).penalty),
    );
    renewed.forEach((slot, i) => (next[slot] = members[i]));
  }
  state.population = next as Member[];
  const record: IterationRecord = {
    iter: state.iter,
    candidates,
    keep,
    seconds: (performance.now() - started) / 1000,
    rng: rng.state(),
    evaluated: unseen.length,
    dropped,
    ...(restartPenalty === undefined ? {} : { restartPenalty }),
  };
  state.iter++;
  return record;
}
