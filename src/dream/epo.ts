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

/** A child: its ids, its parent's, and the first position where they differ (later ones may differ too). */
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

function argminLoss(
  candidates: readonly Candidate[],
  penalty: number,
  eligible = (_: number) => true,
): number {
  let best = -1;
  for (let i = 0; i < candidates.length; i++)
    if (
      eligible(i) &&
      (best < 0 || loss(candidates[i] as Candidate, penalty) < loss(candidates[best] as Candidate, penalty))
    )
      best = i;
  return best;
}

/**
 * A slot's survivor under a perplexity filter (maxXent > 0): the argmin of the loss among the candidates within
 * the filter; while none is (from random tokens EPO must first come down in xent), among all, as without one.
 */
function selectSurvivor(candidates: readonly Candidate[], penalty: number, maxXent: number): number {
  const within =
    maxXent > 0 ? argminLoss(candidates, penalty, (i) => (candidates[i] as Candidate).xent <= maxXent) : -1;
  return within < 0 ? argminLoss(candidates, penalty) : within;
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

/** The first position where two prompts differ, −1 where none does. */
export function firstDifference(a: readonly number[], b: readonly number[]): number {
  return a.findIndex((t, i) => t !== b[i]);
}

/**
 * A child of `parent`:
 * - a swap (the reference's only operator): one uniform position takes a token uniform over the parent's
 *   top-k there, or with probability likelyShare over the model's k likeliest tokens there;
 * - with probability crossoverShare, a crossover: the parent's tokens before a uniform cut 1..L−1, another
 *   member's from it on (a fluent opening can meet an activating ending);
 * - with probability shiftShare, a shift (flrt's insert and delete at a fixed length): at a uniform position,
 *   either a token of the parent's top-k there is inserted and the last token falls off, or the token there
 *   is deleted and one of the top-k of the last position is appended; phrases move without being rebuilt.
 * The operator is drawn only where a share is positive, so that the reference's RNG stream is kept.
 */
function makeChild(
  rng: Rng,
  parent: Member,
  population: readonly Member[],
  evaluator: EpoEvaluator,
  options: EpoOptions,
): number[] {
  const L = evaluator.seqLen;
  const k = evaluator.topk;
  const proposal = (position: number): number => {
    const likely = options.likelyShare > 0 && rng.uniform(0, 1) < options.likelyShare;
    const source = likely ? (parent.likely as Int32Array) : parent.topk;
    return source[position * k + rng.int(k)] as number;
  };
  const draw = options.crossoverShare + options.shiftShare > 0 ? rng.uniform(0, 1) : 1;
  if (draw < options.crossoverShare && population.length > 1 && L > 1) {
    const self = population.indexOf(parent);
    const other = population[(self + 1 + rng.int(population.length - 1)) % population.length] as Member;
    const cut = 1 + rng.int(L - 1);
    return [...parent.ids.slice(0, cut), ...other.ids.slice(cut)];
  }
  const position = rng.int(L);
  if (draw < options.crossoverShare + options.shiftShare && L > 1) {
    if (rng.int(2) === 0)
      return [...parent.ids.slice(0, position), proposal(position), ...parent.ids.slice(position, L - 1)];
    return [...parent.ids.slice(0, position), ...parent.ids.slice(position + 1), proposal(L - 1)];
  }
  const ids = [...parent.ids];
  ids[position] = proposal(position);
  return ids;
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
  // (or, with probability likelyShare, over the model's k likeliest tokens there); or, with probabilities
  // crossoverShare and shiftShare, is a crossover or a shift (makeChild).
  const children: Child[] = [];
  let dropped = 0;
  for (let j = 0; j < M * options.childrenPerMember; j++) {
    const parent = population[j % M] as Member;
    const ids = makeChild(rng, parent, population, evaluator, options);
    if (accept && !accept(ids)) dropped++;
    else children.push({ ids, parent: parent.ids, position: Math.max(0, firstDifference(ids, parent.ids)) });
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
  // every slot keeps argmin(−target + λ_r·xent) with λ_r ~ U[min, max]; under a perplexity filter, among
  // the candidates within it only (selectSurvivor).
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
  const keep = population.map((m) =>
    selectSurvivor(candidates, restartPenalty ?? m.penalty, options.maxXent),
  );

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
