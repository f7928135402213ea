import { apply, type Node } from '../node.ts';
import { definePrimitive, GraphError } from '../primitive.ts';
import { dimPlus, formatShape, isSymbolic, normalizeAxis, type Dim } from '../shape.ts';
import { pad } from './pad.ts';

type SliceAttrs = { starts: readonly number[]; ends: readonly number[]; axes: readonly number[] };

/** Python-style bounds of one slice on a dim of static size. */
function clampRange(start: number, end: number, size: number): [number, number] {
  const clamp = (v: number) => Math.min(Math.max(v < 0 ? v + size : v, 0), size);
  return [clamp(start), Math.max(clamp(start), clamp(end))];
}

/** The output length of `start:end` on `dim`; symbolic dims allow `k:k+n` and `-n:` (to the end). */
function sliceLength(dim: Dim, start: number, end: number): Dim {
  if (!isSymbolic(dim)) {
    const [s, e] = clampRange(start, end, dim);
    return e - s;
  }
  if (start >= 0 && end >= 0 && end < Number.MAX_SAFE_INTEGER) return end - start;
  if (start >= 0 && end >= Number.MAX_SAFE_INTEGER) return dimPlus(dim, -start);
  if (start < 0 && end >= Number.MAX_SAFE_INTEGER) return -start;
  throw new GraphError(`Slice ${start}:${end} of a symbolic dim ${dim} has no static length`);
}

/** x[starts:ends] along `axes`, step 1; ends ≥ Number.MAX_SAFE_INTEGER mean "to the end". */
export const Slice = definePrimitive<SliceAttrs>({
  name: 'Slice',
  infer: ([x], { starts, ends, axes }) => {
    const shape = [...x!.shape];
    axes.forEach((axis, i) => {
      const a = normalizeAxis(axis, shape.length, 'Slice axis');
      shape[a] = sliceLength(shape[a] as Dim, starts[i] as number, ends[i] as number);
    });
    return { dtype: x!.dtype, shape };
  },
  lower: (node, ctx) => {
    const { starts, ends, axes } = node.attrs;
    const inputs = [ctx.name(node.inputs[0]!), ctx.int64s(starts), ctx.int64s(ends), ctx.int64s(axes)];
    ctx.emit('Slice', inputs, [ctx.name(node)]);
  },
  // The cotangent is padded with zeros back to the input's extent (static sizes only).
  vjp: ({ inputs: [x], attrs: { starts, ends, axes } }, ct) => {
    const before = x!.shape.map(() => 0);
    const after = x!.shape.map(() => 0);
    axes.forEach((axis, i) => {
      const a = normalizeAxis(axis, x!.rank);
      const dim = x!.shape[a] as Dim;
      if (isSymbolic(dim)) {
        const start = starts[i] as number;
        if (start < 0 || (ends[i] as number) < Number.MAX_SAFE_INTEGER)
          throw new GraphError(
            `Slice gradient on symbolic axis ${a} of ${formatShape(x!.shape)} needs a static size`,
          );
        before[a] = start;
        return;
      }
      const [s, e] = clampRange(starts[i] as number, ends[i] as number, dim);
      before[a] = s;
      after[a] = dim - e;
    });
    return [pad(ct, [...before, ...after])];
  },
});

export const END = Number.MAX_SAFE_INTEGER;

export function slice(
  x: Node,
  axes: readonly number[],
  starts: readonly number[],
  ends: readonly number[],
): Node {
  return apply(Slice, [x], { starts, ends, axes });
}
