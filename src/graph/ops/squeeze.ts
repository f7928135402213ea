import { apply, type Node } from '../node.ts';
import { definePrimitive, GraphError } from '../primitive.ts';
import { formatShape, normalizeAxis } from '../shape.ts';
import { reshape } from './reshape.ts';

/** Removes the size-1 axes `axes`. */
export const Squeeze = definePrimitive<{ axes: readonly number[] }>({
  name: 'Squeeze',
  infer: ([x], { axes }) => {
    const at = axes.map((a) => normalizeAxis(a, x!.shape.length, 'Squeeze axis'));
    for (const a of at)
      if (x!.shape[a] !== 1)
        throw new GraphError(`Squeeze: axis ${a} of ${formatShape(x!.shape)} has size ${x!.shape[a]}, not 1`);
    return { dtype: x!.dtype, shape: x!.shape.filter((_, i) => !at.includes(i)) };
  },
  lower: (node, ctx) =>
    ctx.emit('Squeeze', [ctx.name(node.inputs[0]!), ctx.int64s(node.attrs.axes)], [ctx.name(node)]),
  vjp: ({ inputs: [x] }, ct) => [reshape(ct, x!.shape)],
});
export const squeeze = (x: Node, axes: readonly number[]): Node => apply(Squeeze, [x], { axes });
