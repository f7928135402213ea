import { apply, type Node } from '../node.ts';
import { definePrimitive } from '../primitive.ts';
import { normalizeAxis, type Dim } from '../shape.ts';
import { reshape } from './reshape.ts';

/** Inserts size-1 axes at `axes` (positions in the output). */
export const Unsqueeze = definePrimitive<{ axes: readonly number[] }>({
  name: 'Unsqueeze',
  infer: ([x], { axes }) => {
    const rank = x!.shape.length + axes.length;
    const at = axes.map((a) => normalizeAxis(a, rank, 'Unsqueeze axis'));
    const rest = [...x!.shape];
    return {
      dtype: x!.dtype,
      shape: Array.from({ length: rank }, (_, i) => (at.includes(i) ? 1 : (rest.shift() as Dim))),
    };
  },
  lower: (node, ctx) =>
    ctx.emit('Unsqueeze', [ctx.name(node.inputs[0]!), ctx.int64s(node.attrs.axes)], [ctx.name(node)]),
  vjp: ({ inputs: [x] }, ct) => [reshape(ct, x!.shape)],
});
export const unsqueeze = (x: Node, axes: readonly number[]): Node => apply(Unsqueeze, [x], { axes });
