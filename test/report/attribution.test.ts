import { describe, expect, it } from 'vitest';
import type { Attribution, Replacement } from '../../src/dream/attribution.ts';
import { attributionHtml, attributionText } from '../../src/report/attribution.ts';
import { reds, xterm256 } from '../../src/report/colors.ts';

const swap = (id: number, text: string, target: number): Replacement => ({ id, text, target, xent: 3 });

const ATTRIBUTION: Attribution = {
  model: 'm',
  target: 'blocks.0.mlp.hook_post[1]',
  bos: 1,
  ids: [10, 11],
  text: ' <Hi>\n',
  k: 3,
  baseline: { target: 2, xent: 4 },
  positions: [
    {
      position: 0,
      id: 10,
      text: ' <Hi>',
      drop: 1.5,
      importance: 1,
      worst: swap(5, ' a', 0.5),
      top: [swap(6, ' b', 2.5), swap(7, ' c', 2.25), swap(5, ' a', 0.5)],
      replacements: [swap(6, ' b', 2.5), swap(7, ' c', 2.25), swap(5, ' a', 0.5)],
    },
    {
      position: 1,
      id: 11,
      text: '\n',
      drop: -0.25,
      importance: 0,
      worst: swap(8, 'x', 2.25),
      top: [swap(9, 'y', 3), swap(8, 'x', 2.25)],
      replacements: [swap(9, 'y', 3), swap(8, 'x', 2.25)],
    },
  ],
};

describe('the attribution views', () => {
  it('shade tokens from white to dark red on the xterm 256-colour cube', () => {
    expect(xterm256(reds(0))).toBe(231); // white
    expect(xterm256(reds(1))).toBe(52); // dark red
    expect(xterm256([255, 0, 0])).toBe(196);
  });

  it('prints the prompt and a table: importance, drop, worst and top-3 swaps', () => {
    const plain = attributionText(ATTRIBUTION, { color: false });
    expect(plain).toContain(
      'target 2.000, xent 4.000 (BOS + 2 tokens, 3 gradient-favoured swaps per position)',
    );
    expect(plain).toContain('[BOS] <Hi>|↵');
    expect(plain).toMatch(/ {4}0 {2}" <Hi>" +█{8} 1\.00 +1\.500 {2}" a" 0\.500 +" b" 2\.500 {3}" c" 2\.250/);
    expect(plain).not.toContain('\x1b[');
    const coloured = attributionText(ATTRIBUTION, { color: true });
    expect(coloured).toContain('\x1b[48;5;52m\x1b[38;5;231m <Hi>\x1b[0m');
  });

  it('shows the token boundaries: | without colour, every other token dim in colour, none with plain', () => {
    const lineOf = (text: string) => text.split('\n')[2];
    expect(lineOf(attributionText(ATTRIBUTION, { color: false }))).toBe('  [BOS] <Hi>|↵');
    expect(lineOf(attributionText(ATTRIBUTION, { color: false, plain: true }))).toBe('  [BOS] <Hi>↵');
    const coloured = lineOf(attributionText(ATTRIBUTION, { color: true }))!;
    expect(coloured).toContain('m\x1b[2m↵\x1b[22m\x1b[0m'); // the second token dim on its shade
    expect(coloured).not.toContain('|');
    expect(lineOf(attributionText(ATTRIBUTION, { color: true, plain: true }))).not.toContain('\x1b[2m');
  });

  it('writes a self-contained page whose tokens show their swaps on hover, escaped', () => {
    const html = attributionHtml(ATTRIBUTION);
    expect(html).toMatch(/^<!DOCTYPE html>/);
    expect(html).toContain('.tok:hover .tip { display: block; }');
    expect(html).toContain('&lt;Hi&gt;<span class="tip">');
    expect(html).toContain('<th>worst</th><td><code class="t"> a</code></td><td>0.500</td>');
    expect(html).not.toContain('<Hi>');
  });
});
