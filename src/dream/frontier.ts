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
 * target − λ·xent; distinct winners, by increasing cross-entropy.
 */
export function sweepFrontier<T extends Scored>(points: readonly T[]): T[] {
  const winners = new Set<T>();
  const scored = points.filter(finite);
  for (const penalty of SWEEP_PENALTIES) {
    let best: T | undefined;
    let bestScore = -Infinity;
    for (const p of scored) {
      const score = p.target - penalty * p.xent;
      if (score > bestScore) [best, bestScore] = [p, score];
    }
    if (best) winners.add(best);
  }
  return [...winners].sort((a, b) => a.xent - b.xent);
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
