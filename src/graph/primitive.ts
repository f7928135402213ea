import type { Aval, Attrs, Node } from './node.ts';
import type { LowerContext } from './lower-context.ts';

/**
 * A VJP: given the node and the cotangent of its output, the cotangents of its inputs (null where an input
 * gets none). Cotangents may keep the output's broadcast shape; autodiff sums them back to input shapes.
 */
export type Vjp<A extends Attrs = Attrs> = (
  node: Node & { attrs: A },
  cotangent: Node,
) => readonly (Node | null)[];

/** Marks a primitive through which no gradient flows (integer outputs, comparisons, constants). */
export const nonDifferentiable = Symbol('nonDifferentiable');

/**
 * One primitive: its shape rule, its ONNX lowering and its VJP, side by side. `vjp` is required, so a
 * primitive without a derivative (or an explicit `nonDifferentiable`) does not compile.
 */
export interface Primitive<A extends Attrs = Attrs> {
  readonly name: string;
  infer(inputs: readonly Aval[], attrs: A): Aval;
  lower(node: Node & { attrs: A }, ctx: LowerContext): void;
  readonly vjp: Vjp<A> | typeof nonDifferentiable;
  /** Attributes as shown by the printer; all of them by default. */
  printAttrs?(attrs: A): string;
}

export function definePrimitive<A extends Attrs>(primitive: Primitive<A>): Primitive<A> {
  return primitive;
}

export class GraphError extends Error {
  override name = 'GraphError';
}
