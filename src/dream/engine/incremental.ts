/**
 * Incremental fitness: an EPO child differs from its parent at one position p, so its positions before p —
 * their keys, values and next-token log-probabilities — are the parent's (DESIGN.md §7). The children of a
 * batch are packed into one run: only their positions ≥ p go through the model, as one matrix of rows, each
 * attending over its parent's cached keys and its own new ones; logits are formed only where the xent needs
 * them (positions p..T−2) and, for a logit target, at the last position.
 *
 * The xent of a child with change at p is the mean over the optimized positions first ≤ t < end
 * (programs.ts, xentSpan) of −log p(x_t | x_<t), assembled from
 *   t < p: the parent's log-probabilities (same tokens, same prefix);
 *   t = p: the parent's final-norm row h at p − 1 and its log-sum-exp (same prefix): h·W_U[x_p] − logΣexp;
 *   t > p: the program's log-probabilities, from logits at the new positions p..end−2.
 * Fixed tokens after the optimized ones (a template's ending, a continuation's text) are new rows of every
 * child: what they see changed.
 */
import {
  concat,
  gather,
  greater,
  GraphError,
  input,
  mul,
  reduceSum,
  reshape,
  slice,
  unsqueeze,
  where,
  type Dim,
  type Node,
} from '../../graph/index.ts';
import { parseHook } from '../../models/hooks.ts';
import type { FirstBlockReuse, Model } from '../../models/model.ts';
import type { Target } from '../../objectives/target.ts';
import type { HostTensor, Session } from '../../runtime/index.ts';
import { stackCaches, stackedInputs, type PrefixCache } from './prefix-cache.ts';
import { head, nextLogProbs, xentSpan, type ProgramOptions } from './programs.ts';
import { targetOnViews, type PositionView } from './target-views.ts';

/** Where a context's positions lie: T in all, the xent's [first, end), and the last `tail` with logits. */
export interface SequenceLayout {
  length: number;
  first: number;
  end: number;
  /** The positions from the last optimized one on, whose logits a target may read (always new rows). */
  tail: number;
}

export function sequenceLayout(options: ProgramOptions): SequenceLayout {
  const { first, end } = xentSpan(options);
  return { length: options.length, first, end, tail: options.length - end + 1 };
}

/**
 * The incremental fitness program over packed children (see PackedSequences): inputs `ids` [1,R] and
 * `positions` [R] of the R new tokens, the slots that place them, the parents' prefix caches stacked
 * (prefix-cache.ts: C = parents·T rows), `logitRows` [L] and `next` [L] (the rows whose next token enters
 * the xent, and that token), `tailRows` [B,tail] (each child's rows of its last `tail` positions, whose
 * logits a target may read), `parents` [B], and per child `previous` [B,D] and `previousToken` [B] (its
 * parent's final-norm row at p − 1 and its token at p). Outputs: `target` [B], `logprobs` [L] and
 * `labelLogits` [B] (previous·W_U[previousToken], the logit of the child's new token). Undefined when the
 * target reads logits before the tail.
 */
export function incrementalProgram(
  model: Model,
  target: Target,
  { length: T, tail }: SequenceLayout,
): Record<string, Node> | undefined {
  const { vocabSize: V } = model.config;
  const ids = input('ids', 'int64', [1, 'R']);
  const positions = input('positions', 'int64', ['R']);
  const keySlots = input('keySlots', 'int64', ['B', T]);
  const querySlots = input('querySlots', 'int64', ['B', T]);
  const cached = stackedInputs(model.config);
  const hookPoints = target.hooks.map((h) => parseHook(h, model.hookSpec));
  // Block 0 of a child's positions after its change comes from the parent's cache, unless the target reads
  // block 0 (its hooks would then hold the fresh rows only).
  const firstBlock: FirstBlockReuse | undefined = hookPoints.some((h) => h.layer === 0)
    ? undefined
    : {
        fresh: input('firstBlock.fresh', 'int64', ['F']),
        queries: cached.queries,
        keySlots: input('firstBlock.keySlots', 'int64', ['B', T]),
        querySlots: input('firstBlock.querySlots', 'int64', ['B', T]),
        locals: cached.locals,
        localSlots: input('firstBlock.localSlots', 'int64', ['R']),
      };
  const result = model.build({
    tokens: ids,
    positions,
    hooks: target.hooks,
    packed: {
      length: T,
      keys: cached.keys,
      values: cached.values,
      keySlots,
      querySlots,
      rowSlots: input('rowSlots', 'int64', ['R']),
      ...(firstBlock && { firstBlock }),
    },
  });
  const { normalized, unembed, unembedding } = head(result); // normalized [1,R,D]
  const D = model.config.hidden;

  // The target reads its hooks over each child's whole sequence, cached positions from the parent: rows of
  // [parent rows; new rows] at the key slots, gathered only at the positions it reads.
  const parents = input('parents', 'int64', ['B']);
  const isNewQuery = unsqueeze(greater(querySlots, 0), [1, 3]); // [B,1,T,1]
  const [B] = keySlots.shape as [Dim];
  const hooks: Record<string, Node | PositionView> = {};
  for (const { name, point } of hookPoints) {
    const computed = result.hooks[name] as Node;
    if (point === 'attn.hook_pattern') {
      const [, H] = computed.shape as [Dim, number];
      const parentPattern = cached.hook(name, ['M', H, T, T]);
      hooks[name] = where(isNewQuery, computed, gather(parentPattern, parents)); // [B,H,T,T]
    } else {
      const F = computed.shape[2] as number;
      const parentRows = cached.hook(name, ['C', F]);
      const rows = concat([parentRows, reshape(computed, [computed.shape[1] as Dim, F])], 0); // [C+R,F]
      hooks[name] = {
        shape: [B, T, F],
        at: (from, to) => gather(rows, slice(keySlots, [1], [from], [to])), // [B,to−from,F]
      };
    }
  }
  const tailRows = input('tailRows', 'int64', ['B', tail]);
  const formed = new Map<string, Node>();
  const logits: PositionView = {
    shape: [B, T, V],
    at(from, to) {
      if (from < T - tail) return undefined;
      const key = `${from}:${to}`;
      const picked = slice(tailRows, [1], [from - (T - tail)], [to - (T - tail)]); // [B,to−from]
      if (!formed.has(key))
        formed.set(key, unembed(reshape(gather(normalized, picked, 1), [B, to - from, D])));
      return formed.get(key); // [B,to−from,V]
    },
  };
  const value = targetOnViews(target, hooks, logits, T);
  if (!value) return undefined;

  const logitRows = input('logitRows', 'int64', ['L']);
  const next = reshape(input('next', 'int64', ['L']), [1, 'L']);
  const logprobs = nextLogProbs(gather(normalized, logitRows, 1), next, unembed, V); // [1,L]
  const previous = input('previous', 'float32', ['B', D]);
  const previousToken = input('previousToken', 'int64', ['B']);
  const labelLogits = reduceSum(mul(previous, gather(unembedding, previousToken)), [1]); // [B]
  return { target: value, logprobs: reshape(logprobs, ['L']), labelLogits };
}

/**
 * A child to evaluate: its full token sequence (BOS included), its parent's (and the parent's cache), and the
 * first position where they differ; later positions may differ too (they are new rows either way).
 */
export interface PackedChild {
  ids: readonly number[];
  parentIds: readonly number[];
  parent: PrefixCache;
  position: number;
}

const int64 = (values: readonly number[], shape: number[]): HostTensor => ({
  dtype: 'int64',
  shape,
  data: BigInt64Array.from(values, (v) => BigInt(v)),
});

/** The feeds of one run of the incremental program, and how to read its outputs back into xents. */
export function packChildren(
  children: readonly PackedChild[],
  {
    layout: { length: T, first, end, tail },
    hidden: D,
    patterns,
  }: { layout: SequenceLayout; hidden: number; patterns: ReadonlySet<string> },
): {
  feeds: Record<string, HostTensor>;
  xents(out: { logprobs: Float32Array; labelLogits: Float32Array }): number[];
} {
  const parents: PrefixCache[] = [];
  const parentIndex = new Map<PrefixCache, number>();
  for (const c of children)
    if (!parentIndex.has(c.parent)) {
      parentIndex.set(c.parent, parents.length);
      parents.push(c.parent);
    }
  const C = parents.length * T;
  const B = children.length;
  const ids: number[] = [];
  const positions: number[] = [];
  const rowSlots: number[] = [];
  const keySlots: number[] = [];
  const querySlots: number[] = [];
  const logitRows: number[] = [];
  const next: number[] = [];
  const tailRows: number[] = [];
  const parentOf: number[] = [];
  const known: number[] = []; // per child: Σ of its log-probabilities taken from the parent
  const previous = new Float32Array(children.length * D); // zero where p < first (no xent term at t = p)
  const previousToken: number[] = [];
  // Block 0 (FirstBlockReuse): the fresh rows are the new rows whose token differs from the parent's (the
  // first new row always), row C + f of [cached; fresh] for the f-th of them.
  const fresh: number[] = [];
  const firstKeySlots: number[] = [];
  const firstQuerySlots: number[] = [];
  const localSlots: number[] = [];
  children.forEach((child, b) => {
    const m = parentIndex.get(child.parent) as number;
    const p = child.position;
    if (child.ids.length !== T) throw new GraphError(`a child has ${child.ids.length} tokens, expected ${T}`);
    let sum = 0;
    for (let t = first; t < p; t++) sum += child.parent.logprobs[t - first] as number;
    if (p >= first) {
      sum -= child.parent.logSumExp[p - first] as number; // + the logit of x_p, from the program's labelLogits
      previous.set(child.parent.normalized.subarray((p - first) * D, (p - first + 1) * D), b * D);
    }
    previousToken.push(p >= first ? (child.ids[p] as number) : 0);
    known.push(sum);
    parentOf.push(m);
    for (let t = 0; t < T; t++) {
      const changed = t === p || (t > p && child.ids[t] !== child.parentIds[t]);
      const firstBlockRow = changed ? C + fresh.length : m * T + t;
      firstKeySlots.push(firstBlockRow);
      firstQuerySlots.push(t < p ? 0 : 1 + firstBlockRow);
      if (t < p) {
        keySlots.push(m * T + t);
        querySlots.push(0);
        continue;
      }
      const r = ids.length;
      if (changed) fresh.push(r);
      localSlots.push(firstBlockRow);
      ids.push(child.ids[t] as number);
      positions.push(t);
      rowSlots.push(b * T + t);
      keySlots.push(C + r);
      querySlots.push(1 + r);
      if (t < end - 1) {
        logitRows.push(r);
        next.push(child.ids[t + 1] as number);
      }
      if (t >= T - tail) tailRows.push(r);
    }
  });
  const R = ids.length;
  const L = logitRows.length;
  const feeds: Record<string, HostTensor> = {
    ids: int64(ids, [1, R]),
    positions: int64(positions, [R]),
    rowSlots: int64(rowSlots, [R]),
    keySlots: int64(keySlots, [B, T]),
    querySlots: int64(querySlots, [B, T]),
    logitRows: int64(logitRows, [L]),
    next: int64(next, [L]),
    tailRows: int64(tailRows, [B, tail]),
    parents: int64(parentOf, [B]),
    previous: { dtype: 'float32', shape: [B, D], data: previous },
    previousToken: int64(previousToken, [B]),
    'firstBlock.fresh': int64(fresh, [fresh.length]),
    'firstBlock.keySlots': int64(firstKeySlots, [B, T]),
    'firstBlock.querySlots': int64(firstQuerySlots, [B, T]),
    'firstBlock.localSlots': int64(localSlots, [R]),
  };
  Object.assign(feeds, stackCaches(parents, T, patterns));
  return {
    feeds,
    xents({ logprobs, labelLogits }) {
      const sums = [...known];
      let r = 0;
      children.forEach((child, b) => {
        if (child.position >= first) sums[b]! += labelLogits[b] as number;
        for (let t = child.position; t < end - 1; t++) sums[b]! += logprobs[r++] as number;
      });
      return sums.map((s) => -s / (end - first));
    },
  };
}

/**
 * Per child: its target and xent, from runs of the incremental program of about `maxRows` new token rows at
 * most (a run's memory grows with them): as few runs as that allows, of equal size.
 */
export async function evaluatePacked(
  session: Session,
  children: readonly PackedChild[],
  shape: { layout: SequenceLayout; hidden: number; patterns: ReadonlySet<string>; maxRows: number },
): Promise<{ target: number[]; xent: number[] }> {
  const rowsOf = (c: PackedChild) => shape.layout.length - c.position;
  const total = children.reduce((s, c) => s + rowsOf(c), 0);
  const runs = Math.max(1, Math.ceil(total / shape.maxRows));
  // Child i goes to run ⌊(rows before it)·runs/total⌋.
  const batches: PackedChild[][] = Array.from({ length: runs }, () => []);
  let before = 0;
  for (const child of children) {
    batches[Math.min(runs - 1, Math.floor((before * runs) / Math.max(total, 1)))]!.push(child);
    before += rowsOf(child);
  }
  const target: number[] = [];
  const xent: number[] = [];
  for (const batch of batches) {
    if (batch.length === 0) continue;
    const { feeds, xents } = packChildren(batch, shape);
    const needed: Record<string, HostTensor> = {};
    for (const name of session.inputNames) needed[name] = feeds[name] as HostTensor;
    const out = await session.run(needed);
    target.push(...Array.from(out['target']?.data as Float32Array, Number));
    xent.push(
      ...xents({
        logprobs: out['logprobs']?.data as Float32Array,
        labelLogits: out['labelLogits']?.data as Float32Array,
      }),
    );
  }
  return { target, xent };
}
