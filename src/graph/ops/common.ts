import { isFloat, type DType } from '../dtype.ts';
import type { LowerContext } from '../lower-context.ts';
import type { Aval, Node } from '../node.ts';
import { definePrimitive, GraphError, type Primitive, type Vjp } from '../primitive.ts';
import { broadcastShapes, formatShape } from '../shape.ts';
import { scalar } from './leaf.ts';

export type Operand = Node | number;

/** Turns a JS number into a scalar constant of the other operand's dtype. */
export function lift(a: Operand, b: Operand): [Node, Node] {
  if (typeof a === 'number' && typeof b === 'number')
    throw new GraphError('at least one operand must be a node');
  const na = typeof a === 'number' ? scalar(a, (b as Node).dtype) : a;
  const nb = typeof b === 'number' ? scalar(b, na.dtype) : b;
  return [na, nb];
}

export function sameDTypes(op: string, inputs: readonly Aval[]): DType {
  const dtype = (inputs[0] as Aval).dtype;
  for (const input of inputs)
    if (input.dtype !== dtype)
      throw new GraphError(
        `${op}: operands must share a dtype, got ${inputs.map((i) => `${i.dtype}${formatShape(i.shape)}`).join(', ')}`,
      );
  return dtype;
}

export function requireFloat(op: string, aval: Aval): void {
  if (!isFloat(aval.dtype)) throw new GraphError(`${op}: expected a float tensor, got ${aval.dtype}`);
}

export function broadcastInfer(op: string, inputs: readonly Aval[]): Aval {
  const dtype = sameDTypes(op, inputs);
  return { dtype, shape: broadcastShapes((inputs[0] as Aval).shape, (inputs[1] as Aval).shape) };
}

export function unaryFloatInfer(op: string, inputs: readonly Aval[]): Aval {
  const x = inputs[0] as Aval;
  requireFloat(op, x);
  return x;
}

/** Lowers to the ONNX op of the same name with the node's inputs, no attributes. */
export function lowerSame(node: Node, ctx: LowerContext): void {
  ctx.emit(node.op, node.inputs.map(ctx.name), [ctx.name(node)]);
}

/** A float elementwise unary primitive lowered to the ONNX op of the same name. */
export function unaryPrimitive(
  name: string,
  vjp: Vjp<Record<string, never>>,
): Primitive<Record<string, never>> {
  return definePrimitive({ name, infer: (inputs) => unaryFloatInfer(name, inputs), lower: lowerSame, vjp });
}

/** A broadcasting binary primitive lowered to the ONNX op of the same name. */
export function binaryPrimitive(
  name: string,
  vjp: Vjp<Record<string, never>>,
): Primitive<Record<string, never>> {
  return definePrimitive({
    name,
    infer: (inputs) => {
      requireFloat(name, inputs[0] as Aval);
      return broadcastInfer(name, inputs);
    },
    lower: lowerSame,
    vjp,
  });
}

/** Lowers to the ONNX op of the same name with the node's inputs and its `axis` attribute. */
export function lowerAxis(node: Node & { attrs: { axis: number } }, ctx: LowerContext): void {
  ctx.emit(node.op, node.inputs.map(ctx.name), [ctx.name(node)], { axis: { int: node.attrs.axis } });
}
