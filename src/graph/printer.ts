import { shortDType } from './dtype.ts';
import { topologicalOrder, type Attrs, type Node } from './node.ts';
import { formatShape } from './shape.ts';

function defaultAttrs(attrs: Attrs): string {
  const parts = Object.entries(attrs)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${Array.isArray(v) ? `[${v.join(',')}]` : String(v)}`);
  return parts.length > 0 ? `{${parts.join(', ')}}` : '';
}

/**
 * One node per line, numbered in topological order from 0: `%7:f32[B,12,64] = Mul %3 %5`.
 * Named outputs are listed at the end as `out name = %N`.
 */
export function printGraph(outputs: readonly Node[] | Readonly<Record<string, Node>>): string {
  const named = Array.isArray(outputs) ? [] : Object.entries(outputs as Record<string, Node>);
  const roots = Array.isArray(outputs) ? (outputs as Node[]) : named.map(([, n]) => n);
  const order = topologicalOrder(roots);
  const number = new Map(order.map((n, i) => [n.id, i]));
  const ref = (n: Node) => `%${number.get(n.id)}`;
  const lines = order.map((node) => {
    const attrs = node.primitive.printAttrs
      ? node.primitive.printAttrs(node.attrs as never)
      : defaultAttrs(node.attrs);
    const type = `${shortDType[node.dtype]}${formatShape(node.shape)}`;
    const args = [...node.inputs.map(ref), attrs].filter((s) => s !== '').join(' ');
    return `${ref(node)}:${type} = ${node.op}${args ? ` ${args}` : ''}`;
  });
  for (const [name, node] of named) lines.push(`out ${name} = ${ref(node)}`);
  return lines.join('\n');
}
