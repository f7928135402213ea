/**
 * Block-0 reuse (see FirstBlockReuse), the one place that applies it. An architecture hands its block's
 * token-local parts — the projection to queries, keys and values, and a parallel residual's x + mlp(x) —
 * to the forward context as functions of rows; these are the rows they then see: every row of x, except
 * at block 0 of packed sequences that reuse it, where only the fresh rows, the others being in the cache.
 */
import { concat, gather, GraphError, reshape, unsqueeze, type Dim, type Node } from '../graph/index.ts';
import type { FirstBlockReuse } from './model.ts';

export interface TokenLocalRows {
  /** The rows [B,N,D] of x [B,T,D] whose token-local part block `layer` computes, and their positions [N]. */
  rows(layer: number, x: Node): { x: Node; positions: Node };
  /** A token-local residual of block `layer` over those rows [B,N,D], as one over every row [B,T,D]. */
  spread(layer: number, local: Node): Node;
}

/** The rows of each block's token-local part, for new rows at `positions` [T] and block-0 reuse if any. */
export function tokenLocalRows(positions: Node, reuse: FirstBlockReuse | undefined): TokenLocalRows {
  if (!reuse) return { rows: (_, x) => ({ x, positions }), spread: (_, local) => local };
  // Block 0's projection and its MLP branch read the same residual: gather its fresh rows once.
  let last: { x: Node; rows: { x: Node; positions: Node } } | undefined;
  return {
    rows(layer, x) {
      if (layer !== 0) return { x, positions };
      if (last?.x !== x)
        last = { x, rows: { x: gather(x, reuse.fresh, 1), positions: gather(positions, reuse.fresh) } };
      return last.rows;
    },
    spread(layer, local) {
      if (layer !== 0) return local;
      if (!reuse.locals || !reuse.localSlots)
        throw new GraphError(
          'block 0 reuse of a parallel-residual block needs the cached token-local residuals',
        );
      const fresh = reshape(local, [local.shape[1] as Dim, local.shape[2] as Dim]); // [F,D]
      return unsqueeze(gather(concat([reuse.locals, fresh], 0), reuse.localSlots), [0]); // [1,R,D]
    },
  };
}
