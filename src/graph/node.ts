import type { DType, HostData } from './dtype.ts';
import type { Primitive } from './primitive.ts';
import { printGraph } from './printer.ts';
import type { Shape } from './shape.ts';

/** The abstract value of a node: what it holds, not its contents. */
export interface Aval {
  readonly dtype: DType;
  readonly shape: Shape;
}

export type AttrValue =
  number | string | boolean | readonly number[] | readonly (number | string)[] | HostData;
export type Attrs = Readonly<Record<string, AttrValue | undefined>>;

let nextId = 0;

/** An immutable symbolic value: a primitive applied to input nodes. */
export class Node {
  readonly id = nextId++;
  constructor(
    readonly primitive: Primitive,
    readonly inputs: readonly Node[],
    readonly attrs: Attrs,
    readonly aval: Aval,
  ) {}

  get op(): string {
    return this.primitive.name;
  }
  get dtype(): DType {
    return this.aval.dtype;
  }
  get shape(): Shape {
    return this.aval.shape;
  }
  get rank(): number {
    return this.aval.shape.length;
  }
  /** The graph computing this node, one line per node (see printGraph). */
  toString(): string {
    return printGraph([this]);
  }
}

/** Applies a primitive: checks its inputs through the primitive's shape rule and builds the node. */
export function apply<A extends Attrs>(primitive: Primitive<A>, inputs: readonly Node[], attrs: A): Node {
  const aval = primitive.infer(
    inputs.map((n) => n.aval),
    attrs,
  );
  return new Node(primitive as unknown as Primitive, inputs, attrs, aval);
}

/** Nodes reachable from `outputs`, inputs before users. */
export function topologicalOrder(outputs: readonly Node[]): Node[] {
  const order: Node[] = [];
  const seen = new Set<number>();
  const stack: { node: Node; expanded: boolean }[] = outputs.map((node) => ({ node, expanded: false }));
  stack.reverse();
  while (stack.length > 0) {
    const top = stack.pop() as { node: Node; expanded: boolean };
    if (top.expanded) {
      order.push(top.node);
      continue;
    }
    if (seen.has(top.node.id)) continue;
    seen.add(top.node.id);
    stack.push({ node: top.node, expanded: true });
    for (let i = top.node.inputs.length - 1; i >= 0; i--) {
      const input = top.node.inputs[i] as Node;
      if (!seen.has(input.id)) stack.push({ node: input, expanded: false });
    }
  }
  return order;
}
