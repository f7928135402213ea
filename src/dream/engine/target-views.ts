/**
 * A target read over what a program forms, rather than over a whole build: logits only at the positions it
 * reads, and (incremental evaluation) hooks assembled from the parent's cached rows and the new ones.
 */
import { input, Node, slice, substitute, topologicalOrder, type Shape } from '../../graph/index.ts';
import type { BuildResult } from '../../models/model.ts';
import type { Target } from '../../objectives/target.ts';

/**
 * A value a target reads, over positions along axis 1 (e.g. [B,T,F]), that a program can give for a range
 * of positions without forming it whole: `at(a, b)` is positions [a, b) of it, or undefined if unavailable.
 */
export interface PositionView {
  shape: Shape;
  at(from: number, to: number): Node | undefined;
}

/**
 * The target's value with the logits, and any hooks given as views, read one range of positions at a time
 * (`PositionView.at`) instead of formed over every position. The target is built on stand-ins for them,
 * and each use of a stand-in — which must be a slice along the position axis — is re-rooted on the view's
 * rows for that range. Targets read logits at the last position (`logit:TOKEN`) or over a continuation's
 * text, and forming them over [B,T,V] would cost as much as the rest of the model. Undefined when a stand-in
 * is used otherwise.
 */
export function targetOnViews(
  target: Target,
  hooks: Readonly<Record<string, Node | PositionView>>,
  logits: PositionView,
  length: number,
): Node | undefined {
  const views = new Map<Node, PositionView>();
  const standIn = (name: string, view: PositionView) => {
    const node = input(`${name} (stand-in)`, 'float32', view.shape);
    views.set(node, view);
    return node;
  };
  const value = target.value({
    hooks: Object.fromEntries(
      Object.entries(hooks).map(([name, h]) => [name, h instanceof Node ? h : standIn(name, h)]),
    ),
    logits: standIn('logits', logits),
  });
  if (views.has(value)) return undefined;
  const reread = new Map<Node, Node>();
  for (const node of topologicalOrder([value])) {
    const viewed = node.inputs.find((i) => views.has(i));
    if (!viewed) continue;
    const rows = positionSlice(node, viewed, views.get(viewed) as PositionView, length);
    if (!rows) return undefined;
    reread.set(node, rows);
  }
  return substitute([value], reread)[0] as Node;
}

/** `node` = standIn[…, a:b, …] (a slice along the position axis) as the view's rows [a, b), sliced alike. */
function positionSlice(node: Node, standIn: Node, view: PositionView, length: number): Node | undefined {
  if (node.op !== 'Slice' || node.inputs[0] !== standIn) return undefined;
  const { axes, starts, ends } = node.attrs as { axes: number[]; starts: number[]; ends: number[] };
  const at = axes.findIndex((a) => (a < 0 ? a + standIn.rank : a) === 1);
  if (at < 0) return undefined;
  const bound = (v: number) => Math.min(Math.max(v < 0 ? v + length : v, 0), length);
  const [a, b] = [bound(starts[at] as number), bound(ends[at] as number)];
  const rows = b > a ? view.at(a, b) : undefined;
  if (!rows) return undefined;
  const others = axes.flatMap((_, i) => (i === at ? [] : [i]));
  if (others.length === 0) return rows;
  const pick = (values: number[]) => others.map((i) => values[i] as number);
  return slice(rows, pick(axes), pick(starts), pick(ends));
}

/** The target's value over a build, with logits only at the positions it reads (`logits`) when it can. */
export function targetValue(target: Target, result: BuildResult, logits: PositionView): Node {
  const { hooks, logits: all } = result;
  return (
    targetOnViews(target, hooks, logits, logits.shape[1] as number) ?? target.value({ hooks, logits: all })
  );
}
