import { parseHTML } from 'linkedom';
import { describe, expect, it } from 'vitest';
import { comparisonFigure, MARK_CLASSES, svgToPng, type FigurePoint } from '../../src/report/figure.ts';

const POINTS: FigurePoint[] = [
  { kind: 'dataset', xent: 2.5, activation: 3.1, text: 'said, "Thank you' },
  { kind: 'dataset', xent: 3.25, activation: 2.4, text: 'a <b> & "quoted"' },
  { kind: 'dataset', xent: 4, activation: 1.2, text: 'Once upon a time' },
  { kind: 'dream', xent: 3, activation: 4.5, text: 'dream one', source: 'run-a' },
  { kind: 'dream', xent: 5.5, activation: 7.25, text: 'dream two', source: 'run-a' },
];

const circles = (svg: string, group: string) => {
  const { document } = parseHTML(`<html><body>${svg}</body></html>`);
  return Array.from(document.querySelectorAll(`g.${group} circle`), (c) => ({
    cx: Number(c.getAttribute('cx')),
    cy: Number(c.getAttribute('cy')),
    title: c.querySelector('title')?.textContent ?? '',
  }));
};

describe('the comparison figure', () => {
  const figure = comparisonFigure(POINTS, { target: 'blocks.4.mlp.hook_post[0]', medianXent: 3.25 });

  it('draws one dot per point at its scaled (xent, activation), titled with its text', () => {
    for (const kind of ['dataset', 'dream'] as const) {
      const points = POINTS.filter((p) => p.kind === kind);
      const dots = circles(figure.svg, MARK_CLASSES[kind]);
      expect(dots).toHaveLength(points.length);
      points.forEach((p, i) => {
        expect(dots[i]!.cx).toBeCloseTo(figure.x(p.xent), 6);
        expect(dots[i]!.cy).toBeCloseTo(figure.y(p.activation), 6);
        expect(dots[i]!.title).toContain(`"${p.text}"`); // as it reads, without JSON's escapes
      });
    }
    // Larger cross-entropy lies to the right, larger activation higher up.
    expect(figure.x(5.5)).toBeGreaterThan(figure.x(2.5));
    expect(figure.y(7.25)).toBeLessThan(figure.y(1.2));
  });

  it('is a standalone SVG document that does not change unnoticed', () => {
    expect(figure.svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(figure.svg).toContain('&lt;b&gt; &amp;');
    expect(figure.svg).toMatchSnapshot();
  });

  it('rasterizes to a PNG at twice its size', () => {
    const png = svgToPng(figure.svg);
    expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    expect(png.readUInt32BE(16)).toBe(1440); // IHDR width
    expect(png.readUInt32BE(20)).toBe(920); // IHDR height
  });
});
