import { apply, type Node } from '../node.ts';
import { definePrimitive, GraphError } from '../primitive.ts';
import { dimPlus } from '../shape.ts';
import { END, slice } from './slice.ts';

/** Zero padding: `pads` = [begin_0 … begin_{r−1}, end_0 … end_{r−1}], all ≥ 0. */
export const Pad = definePrimitive<{ pads: readonly number[] }>({
  name: 'Pad',
  infer: ([x], { pads }) => {
    const rank = x!.shape.length;
    if (pads.length !== 2 * rank || pads.some((p) => p < 0))
      throw new GraphError(`Pad: expected ${2 * rank} non-negative pads, got [${pads}]`);
    const shape = x!.shape.map((d, i) => {
      const extra = (pads[i] as number) + (pads[i + rank] as number);
      return dimPlus(d, extra);
    });
    return { dtype: x!.dtype, shape };
  },
  lower: (node, ctx) =>
    ctx.emit('Pad', [ctx.name(node.inputs[0]!), ctx.int64s(node.attrs.pads)], [ctx.name(node)]),
  // The cotangent of the padded region is dropped.
  vjp: ({ inputs: [x], attrs: { pads } }, ct) => {
    const axes = x!.shape.map((_, i) => i);
    const starts = axes.map((i) => pads[i] as number);
    const ends = axes.map((i) => {
      const after = pads[i + x!.rank] as number;
      return after === 0 ? END : -after;
    });
    return [slice(ct, axes, starts, ends)];
  },
});
export const pad = (x: Node, pads: readonly number[]): Node => apply(Pad, [x], { pads });
