import { apply, type Aval, type Node } from '../node.ts';
import { definePrimitive, GraphError, type Vjp } from '../primitive.ts';
import { dimProduct, normalizeAxis, type Dim } from '../shape.ts';
import { requireFloat } from './common.ts';
import { cast } from './cast.ts';
import { equal } from './compare.ts';
import { div } from './div.ts';
import { expand } from './expand.ts';
import { mul } from './mul.ts';
import { reshape } from './reshape.ts';

type ReduceAttrs = { axes: readonly number[]; keepdims: boolean };

function reduceInfer(name: string) {
  return ([x]: readonly Aval[], { axes, keepdims }: ReduceAttrs): Aval => {
    requireFloat(name, x!);
    const rank = x!.shape.length;
    const norm = axes.map((a) => normalizeAxis(a, rank, `${name} axis`));
    if (norm.length === 0) throw new GraphError(`${name}: at least one axis is required`);
    const shape: Dim[] = [];
    x!.shape.forEach((d, i) => {
      if (!norm.includes(i)) shape.push(d);
      else if (keepdims) shape.push(1);
    });
    return { dtype: x!.dtype, shape };
  };
}

function reducePrimitive(name: string, vjp: Vjp<ReduceAttrs>) {
  return definePrimitive<ReduceAttrs>({
    name,
    infer: reduceInfer(name),
    lower: (node, ctx) => {
      const x = node.inputs[0]!;
      const axes = node.attrs.axes.map((a) => normalizeAxis(a, x.rank));
      ctx.emit(name, [ctx.name(x), ctx.int64s(axes)], [ctx.name(node)], {
        keepdims: { int: node.attrs.keepdims ? 1 : 0 },
      });
    },
    vjp,
  });
}

/** The reduced value or cotangent reshaped to keep the reduced axes as size 1. */
function keptShape(y: Node, x: Node, axes: readonly number[]): Node {
  const norm = axes.map((a) => normalizeAxis(a, x.rank));
  return reshape(
    y,
    x.shape.map((d, i) => (norm.includes(i) ? 1 : d)),
  );
}

const reducedCount = (x: Node, axes: readonly number[]): Dim =>
  dimProduct(axes.map((a) => x.shape[normalizeAxis(a, x.rank)] as Dim));

// y = Σ x: dx = broadcast(dy)
export const ReduceSum = reducePrimitive('ReduceSum', ({ inputs: [x], attrs: { axes } }, ct) => [
  expand(keptShape(ct, x!, axes), x!.shape),
]);

// y = Σ x / n: dx = broadcast(dy) / n
export const ReduceMean = reducePrimitive('ReduceMean', ({ inputs: [x], attrs: { axes } }, ct) => {
  const n = reducedCount(x!, axes);
  if (typeof n !== 'number') throw new GraphError(`ReduceMean gradient needs static reduced axes, got ${n}`);
  return [expand(div(keptShape(ct, x!, axes), n), x!.shape)];
});

// y = max x: dx = broadcast(dy) at the maxima, shared equally between ties
export const ReduceMax = reducePrimitive('ReduceMax', (node, ct) => {
  const x = node.inputs[0]!;
  const { axes } = node.attrs;
  const isMax = cast(equal(x, keptShape(node, x, axes)), x.dtype);
  const ties = reduceSum(isMax, axes, true);
  return [mul(expand(keptShape(ct, x, axes), x.shape), div(isMax, ties))];
});

export const reduceSum = (x: Node, axes: readonly number[], keepdims = false): Node =>
  apply(ReduceSum, [x], { axes, keepdims });
export const reduceMean = (x: Node, axes: readonly number[], keepdims = false): Node =>
  apply(ReduceMean, [x], { axes, keepdims });
export const reduceMax = (x: Node, axes: readonly number[], keepdims = false): Node =>
  apply(ReduceMax, [x], { axes, keepdims });
