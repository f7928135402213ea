import { apply, type Node } from '../node.ts';
import { definePrimitive, GraphError } from '../primitive.ts';
import { formatShape, sameDim, type Dim } from '../shape.ts';
import { sameDTypes } from './common.ts';
import { add } from './add.ts';
import { div } from './div.ts';
import { mul } from './mul.ts';
import { pow } from './pow.ts';
import { reduceMean } from './reduce.ts';
import { sqrt } from './sqrt.ts';
import { sub } from './sub.ts';

/**
 * LayerNorm over the last axis in one kernel (ONNX LayerNormalization, opset 17): y = x̂·w + b with
 * x̂ = (x − μ)/√(σ² + ε), μ and σ² the mean and biased variance of the last axis; w and b [F].
 */
export const LayerNormalization = definePrimitive<{ epsilon: number }>({
  name: 'LayerNormalization',
  infer: (inputs) => {
    const dtype = sameDTypes('LayerNormalization', inputs);
    const [x, w, b] = inputs as [(typeof inputs)[0], (typeof inputs)[0], (typeof inputs)[0]];
    const F = x.shape[x.shape.length - 1] as Dim;
    for (const p of [w, b])
      if (p.shape.length !== 1 || !sameDim(p.shape[0] as Dim, F))
        throw new GraphError(
          `LayerNormalization: weight and bias must be [${F}] for x ${formatShape(x.shape)}, got ${formatShape(p.shape)}`,
        );
    return { dtype, shape: x.shape };
  },
  lower: (node, ctx) =>
    ctx.emit('LayerNormalization', node.inputs.map(ctx.name), [ctx.name(node)], {
      axis: { int: -1 },
      epsilon: { float: node.attrs.epsilon },
    }),
  // With g = ct·w, means over the last axis ⟨·⟩ and r = 1/√(σ² + ε):
  //   dx = r·(g − ⟨g⟩ − x̂·⟨g·x̂⟩),   dw = Σ ct·x̂,   db = Σ ct   (autodiff sums over the leading axes)
  vjp: ({ inputs: [x, w], attrs: { epsilon } }, ct) => {
    const centered = sub(x!, reduceMean(x!, [-1], true));
    const std = sqrt(add(reduceMean(pow(centered, 2), [-1], true), epsilon));
    const normalized = div(centered, std);
    const g = mul(ct, w!);
    const dx = div(
      sub(sub(g, reduceMean(g, [-1], true)), mul(normalized, reduceMean(mul(g, normalized), [-1], true))),
      std,
    );
    return [dx, mul(ct, normalized), ct];
  },
});

export const layerNormalization = (x: Node, weight: Node, bias: Node, epsilon: number): Node =>
  apply(LayerNormalization, [x, weight, bias], { epsilon });
