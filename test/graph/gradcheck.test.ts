import { describe, expect, it } from 'vitest';
import { apply, definePrimitive, mul, tanh, type Node } from '../../src/graph/index.ts';
import { GradcheckError, gradcheck, resolveDim, rng } from '../helpers/gradcheck.ts';

// tanh with a wrong derivative (1 − y instead of 1 − y²), to show that the checker catches it.
const BrokenTanh = definePrimitive<Record<string, never>>({
  name: 'Tanh',
  infer: ([x]) => x!,
  lower: (node, ctx) => ctx.emit('Tanh', [ctx.name(node.inputs[0]!)], [ctx.name(node)]),
  vjp: (node, ct) => [mul(ct, mul(node, -1))],
});

describe('the gradient checker', () => {
  it('passes a correct VJP and rejects a wrong one', async () => {
    const ok = await gradcheck(([x]) => tanh(x!), [{ shape: [3, 2] }]);
    expect(ok.precision).toBe('float64');
    const run = ok.runs[0]!;
    expect(Math.abs(run.forward - run.reverse)).toBeLessThan(1e-8 * run.scale);
    await expect(gradcheck(([x]) => apply(BrokenTanh, [x as Node], {}), [{ shape: [3, 2] }])).rejects.toThrow(
      GradcheckError,
    );
  });

  it('is deterministic for a seed', () => {
    const a = rng(7);
    const b = rng(7);
    const draws = Array.from({ length: 5 }, () => [a.normal(), b.normal()]);
    for (const [p, q] of draws) expect(p).toBe(q);
    expect(rng(8).uniform()).not.toBe(rng(7).uniform());
  });

  it('resolves symbolic dims written as sums and products', () => {
    expect(resolveDim('B', { B: 3 })).toBe(3);
    expect(resolveDim('4*B*T', { B: 3, T: 2 })).toBe(24);
    expect(resolveDim('B-1', { B: 3 })).toBe(2);
    expect(resolveDim('B+T+2', { B: 3, T: 5 })).toBe(10);
    expect(() => resolveDim('B', {})).toThrow(/no size given for symbolic dim "B"/);
  });
});
