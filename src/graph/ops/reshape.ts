import { apply, type Node } from '../node.ts';
import { definePrimitive, GraphError } from '../primitive.ts';
import { dimProduct, dimQuotient, formatShape, sameDim, type Dim, type Shape } from '../shape.ts';

/** Reshape to `shape`; at most one −1, inferred from the element count. */
export const Reshape = definePrimitive<{ shape: Shape }>({
  name: 'Reshape',
  infer: ([x], { shape }) => {
    const known = shape.filter((d) => d !== -1);
    const fail = (why: string) =>
      new GraphError(`Reshape ${formatShape(x!.shape)} → ${formatShape(shape)}: ${why}`);
    if (shape.length - known.length > 1) throw fail('at most one -1 is allowed');
    const total = dimProduct(x!.shape);
    if (known.length < shape.length) {
      const inferred = dimQuotient(total, dimProduct(known));
      if (inferred === undefined) throw fail(`${total} elements do not divide into ${dimProduct(known)}`);
      return { dtype: x!.dtype, shape: shape.map((d) => (d === -1 ? inferred : d)) };
    }
    if (!sameDim(total, dimProduct(shape))) throw fail(`${total} elements vs ${dimProduct(shape)}`);
    return { dtype: x!.dtype, shape: [...shape] };
  },
  lower: (node, ctx) =>
    ctx.emit('Reshape', [ctx.name(node.inputs[0]!), ctx.shapeTensor(node.attrs.shape)], [ctx.name(node)]),
  vjp: ({ inputs: [x] }, ct) => [reshape(ct, x!.shape)],
});

export function reshape(x: Node, shape: readonly Dim[]): Node {
  return apply(Reshape, [x], { shape });
}
