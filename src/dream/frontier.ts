import { promptKey } from './epo.ts';
/** A scored prompt: activation of the target (higher is better) and cross-entropy (lower is more fluent). */
export interface Scored {
  target: number;
  xent: number;
}

/** Points with a number for both (a NaN stored in JSON reads back as null); the frontiers skip the others. */
const finite = (p: Scored): boolean => Number.isFinite(p.target) && Number.isFinite(p.xent);

/** The penalties of the reference's sweep: λ over 1/linspace(0, 50, 1000)[1:], from 20 down to 0.02. */
export const SWEEP_PENALTIES: readonly number[] = Array.from(
  { length: 999 },
  (_, i) => 1 / ((50 * (i + 1)) / 999),
);

/**
 * The reference's penalty-sweep frontier: for each λ of {@link SWEEP_PENALTIES} the candidate maximizing
 * target − λ·xent (the first of equal scores, in the given order); distinct winners, by increasing
 * cross-entropy.
 *
 * The reference scores every point at every penalty. Here the points are sorted once and only those that
 * can win are scored: for λ ≥ 0 a winner is non-dominated, and lies on the upper convex hull of the points
 * in the (xent, target) plane — a point at vertical distance d below the chord between two others scores at
 * least d less than the better of them, whatever λ. To give exactly the reference's winners, ties included
 * as floating point rounds them, a point is left out only when it scores more than a tolerance (far above
 * the rounding of a score) below another at every λ, and what is kept is scored as the reference scores
 * it, in the given order.
 */
export function sweepFrontier<T extends Scored>(points: readonly T[]): T[] {
  const scored = points.filter(finite);
  const candidates = sweepCandidates(scored);
  const winners = new Set<T>();
  for (const penalty of SWEEP_PENALTIES) {
    let best: T | undefined;
    let bestScore = -Infinity;
    for (const i of candidates) {
      const p = scored[i] as T;
      const score = p.target - penalty * p.xent;
      if (score > bestScore) [best, bestScore] = [p, score];
    }
    if (best) winners.add(best);
  }
  return [...winners].sort((a, b) => a.xent - b.xent);
}

/**
 * Indices (ascending) of the points that may win target − λ·xent for some λ ≥ 0: those on or within a
 * tolerance of the upper convex hull of (xent, target). Every point left out scores, at every λ ≥ 0, more
 * than the tolerance below one kept.
 */
function sweepCandidates(points: readonly Scored[]): number[] {
  let scale = 0;
  for (const p of points) scale = Math.max(scale, Math.abs(p.target), Math.abs(p.xent));
  // A score t − λ·x (λ ≤ 20) rounds within ~41 ulps of scale, the chord test below within ~1e-9·scale:
  // the tolerance leaves both behind and keeps only points all but on the hull.
  const tol = 21e-9 * scale;
  const order = undominated(points, tol);
  order.sort((i, j) => {
    const a = points[i] as Scored;
    const b = points[j] as Scored;
    return a.xent - b.xent || b.target - a.target;
  });
  const chain: number[] = [];
  let top = -Infinity;
  for (const i of order) {
    const c = points[i] as Scored;
    // Dominated: a point a before it (a.xent ≤ c.xent) with a.target > c.target + tol scores more than
    // tol above it at every λ ≥ 0.
    if (c.target < top - tol) continue;
    top = Math.max(top, c.target);
    // Pop the last point p while it lies more than 2·tol below the chord from the point a before it to c
    // (chords under 1e-6·scale wide are too steep to judge in floating point; their points stay).
    while (chain.length >= 2) {
      const a = points[chain[chain.length - 2] as number] as Scored;
      const p = points[chain[chain.length - 1] as number] as Scored;
      const width = c.xent - a.xent;
      if (!(width >= 1e-6 * scale)) break;
      const below = a.target + (c.target - a.target) * ((p.xent - a.xent) / width) - p.target;
      if (below > 2 * tol) chain.pop();
      else break;
    }
    chain.push(i);
  }
  return chain.sort((a, b) => a - b);
}

/**
 * Indices of the points that no point of a sample dominates by more than `tol` (a.xent ≤ p.xent and
 * a.target > p.target + tol): a pass in O(n log s) that spares the sort most of a run's candidates.
 */
function undominated(points: readonly Scored[], tol: number): number[] {
  const n = points.length;
  const all = Array.from({ length: n }, (_, i) => i);
  if (n < 512) return all;
  // Every step-th point, by cross-entropy, with the best target up to each.
  const step = Math.floor(n / 256);
  const sample = all.filter((i) => i % step === 0);
  sample.sort((i, j) => (points[i] as Scored).xent - (points[j] as Scored).xent);
  const xs = Float64Array.from(sample, (i) => (points[i] as Scored).xent);
  const best = new Float64Array(sample.length);
  let top = -Infinity;
  sample.forEach((i, k) => (best[k] = top = Math.max(top, (points[i] as Scored).target)));
  return all.filter((i) => {
    const p = points[i] as Scored;
    // the last sample point with xent ≤ p.xent
    let lo = 0;
    let hi = xs.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((xs[mid] as number) <= p.xent) lo = mid + 1;
      else hi = mid;
    }
    return lo === 0 || !(p.target < (best[lo - 1] as number) - tol);
  });
}

/**
 * Each prompt once, at its first values: a member chosen from the children is scored again by the gradient
 * program (equal up to float noise), and counting it twice would put one prompt twice on a frontier. `seen`
 * carries the prompts met before across calls.
 */
export function uniquePrompts<T extends { ids: readonly number[] }>(
  items: readonly T[],
  seen = new Set<string>(),
): T[] {
  return items.filter((item) => {
    const key = promptKey(item.ids);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/**
 * The exact non-dominated set: points that no other point beats on both target (≥) and cross-entropy (≤)
 * with one strictly; by increasing cross-entropy. Equal points are kept once.
 */
export function nondominatedFrontier<T extends Scored>(points: readonly T[]): T[] {
  const sorted = points.filter(finite).sort((a, b) => a.xent - b.xent || b.target - a.target);
  const frontier: T[] = [];
  let bestTarget = -Infinity;
  for (const p of sorted) {
    if (p.target > bestTarget) {
      frontier.push(p);
      bestTarget = p.target;
    }
  }
  return frontier;
}
