import { hostArray, type DType, type HostData } from '../dtype.ts';
import { apply, type Node } from '../node.ts';
import { definePrimitive, GraphError, nonDifferentiable } from '../primitive.ts';
import { formatShape, isSymbolic, staticSize, type Shape } from '../shape.ts';

/** A named graph input; symbolic dims (strings) become ONNX dim_params. */
export const Input = definePrimitive<{ name: string; dtype: DType; shape: Shape }>({
  name: 'Input',
  infer: (_, { dtype, shape }) => ({ dtype, shape }),
  lower: (node, ctx) => ctx.graphInput(node, node.attrs.name),
  vjp: nonDifferentiable,
  printAttrs: ({ name }) => JSON.stringify(name),
});

/** A constant tensor; lowered to an ONNX initializer. */
export const Constant = definePrimitive<{ value: HostData; dtype: DType; shape: readonly number[] }>({
  name: 'Constant',
  infer: (_, { dtype, shape }) => ({ dtype, shape }),
  lower: (node, ctx) => ctx.initializer(node, node.attrs.value),
  vjp: nonDifferentiable,
  printAttrs: ({ value }) => (value.length === 1 ? String(value[0]) : ''),
});

export function input(name: string, dtype: DType, shape: Shape): Node {
  return apply(Input, [], { name, dtype, shape });
}

export function constant(
  values: HostData | ArrayLike<number>,
  shape: readonly number[],
  dtype: DType = 'float32',
): Node {
  const size = staticSize(shape) ?? NaN;
  if (shape.some(isSymbolic) || values.length !== size)
    throw new GraphError(
      `constant of shape ${formatShape(shape)} needs ${size} values, got ${values.length}`,
    );
  const value = isHostData(values, dtype)
    ? values
    : hostArray(dtype, Array.from(values as ArrayLike<number>));
  return apply(Constant, [], { value, dtype, shape });
}

export const scalar = (value: number, dtype: DType = 'float32'): Node => constant([value], [], dtype);

function isHostData(values: unknown, dtype: DType): values is HostData {
  switch (dtype) {
    case 'float32':
      return values instanceof Float32Array;
    case 'float64':
      return values instanceof Float64Array;
    case 'int64':
      return values instanceof BigInt64Array;
    case 'int32':
      return values instanceof Int32Array;
    case 'bool':
      return values instanceof Uint8Array;
  }
}
