import { apply, type Node } from './node.ts';

/**
 * The graph of `outputs` with some of its nodes replaced: one node per output, in order.
 *
 * - A node that is a key of `replacements` becomes its value, taken as is: the value's own graph is not
 *   walked, so it may read the very node it replaces (x ↦ relu(x)). Nothing below a replaced node is visited.
 * - A node that reads a replaced node, directly or through others, is rebuilt: its primitive re-applied, with
 *   the same attrs, to its rebuilt inputs. The shape rules run again, so shapes and dtypes follow the
 *   replacements (a replacement of another shape changes its users' shapes, or throws their ShapeError).
 * - Every other node is shared, not copied (the same object): an output that reads no key is returned itself.
 *
 * Keys that `outputs` do not reach are ignored. The original graph is left as it was (nodes are immutable).
 */
export function substitute(outputs: readonly Node[], replacements: ReadonlyMap<Node, Node>): Node[] {
  const rebuilt = new Map<Node, Node>(); // original → the node that stands for it in the new graph
  const stack: { node: Node; expanded: boolean }[] = outputs.map((node) => ({ node, expanded: false }));
  stack.reverse();
  while (stack.length > 0) {
    const { node, expanded } = stack.pop() as { node: Node; expanded: boolean };
    if (rebuilt.has(node)) continue;
    const replacement = replacements.get(node);
    if (replacement !== undefined) {
      rebuilt.set(node, replacement);
    } else if (!expanded) {
      stack.push({ node, expanded: true });
      for (let i = node.inputs.length - 1; i >= 0; i--) {
        const input = node.inputs[i] as Node;
        if (!rebuilt.has(input)) stack.push({ node: input, expanded: false });
      }
    } else {
      const inputs = node.inputs.map((i) => rebuilt.get(i) as Node);
      const same = inputs.every((n, i) => n === node.inputs[i]);
      rebuilt.set(node, same ? node : apply(node.primitive, inputs, node.attrs));
    }
  }
  return outputs.map((o) => rebuilt.get(o) as Node);
}
