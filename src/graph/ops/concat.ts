import { apply, type Node } from '../node.ts';
import { definePrimitive, GraphError } from '../primitive.ts';
import { dimProduct, formatShape, isSymbolic, normalizeAxis, sameDim, type Dim } from '../shape.ts';
import { sameDTypes } from './common.ts';
import { slice } from './slice.ts';

export const Concat = definePrimitive<{ axis: number }>({
  name: 'Concat',
  infer: (inputs, { axis }) => {
    const dtype = sameDTypes('Concat', inputs);
    const first = inputs[0]!.shape;
    const a = normalizeAxis(axis, first.length, 'Concat axis');
    for (const input of inputs)
      if (
        input.shape.length !== first.length ||
        input.shape.some((d, i) => i !== a && !sameDim(d, first[i] as Dim))
      )
        throw new GraphError(
          `Concat on axis ${a}: shapes ${inputs.map((i) => formatShape(i.shape)).join(', ')} differ off that axis`,
        );
    const shape = [...first];
    const lengths = inputs.map((i) => i.shape[a] as Dim);
    shape[a] = lengths.every((d) => !isSymbolic(d))
      ? (lengths as number[]).reduce((p, q) => p + q, 0)
      : lengths.map((d) => dimProduct([d])).join('+');
    return { dtype, shape };
  },
  lower: (node, ctx) =>
    ctx.emit('Concat', node.inputs.map(ctx.name), [ctx.name(node)], { axis: { int: node.attrs.axis } }),
  // Each input's cotangent is its slice of the output's.
  vjp: ({ inputs, attrs: { axis } }, ct) => {
    let offset = 0;
    return inputs.map((input) => {
      const length = input.shape[normalizeAxis(axis, input.rank)] as Dim;
      if (isSymbolic(length)) throw new GraphError(`Concat gradient needs static lengths on axis ${axis}`);
      const piece = slice(ct, [axis], [offset], [offset + length]);
      offset += length;
      return piece;
    });
  },
});
export const concat = (inputs: readonly Node[], axis: number): Node => apply(Concat, inputs, { axis });
