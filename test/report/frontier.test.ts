import { parseHTML } from 'linkedom';
import { describe, expect, it } from 'vitest';
import { nondominatedFrontier, sweepFrontier } from '../../src/dream/frontier.ts';
import { compare, CompareError, comparisonFigureOf, comparisonHtml } from '../../src/report/compare.ts';
import { FIGURE_COLORS, MARK_CLASSES, RUN_COLORS, svgToPng } from '../../src/report/figure.ts';
import {
  frontierHtml,
  frontierPlot,
  plotCompare,
  plotFrontier,
  runSeries,
} from '../../src/report/frontier.ts';
import { fakeRun, fakeScan } from './fakes.ts';

const calm = fakeRun([
  [1, 2, 'calm dream'],
  [3, 3, 'said, "Thank you'],
  [6, 5, 'loud dream'],
]);
const wild = fakeRun([
  [2, 2.5, 'wild one'],
  [7, 6, 'wild two'],
  [9, 9, 'wild three'],
]);
const scan = fakeScan([
  [3, 3, 'top example'],
  [2, 2.5, 'second example'],
]);

const svgDocument = (svg: string) => parseHTML(`<html><body>${svg}</body></html>`).document;

/** The fill of each dream dot, and the legend's lines with their colours. */
function read(svg: string) {
  const document = svgDocument(svg);
  return {
    dots: Array.from(document.querySelectorAll(`g.${MARK_CLASSES.dream} circle`), (c) => ({
      fill: c.getAttribute('fill') ?? c.parentElement?.getAttribute('fill'),
      title: c.querySelector('title')?.textContent ?? '',
    })),
    legend: Array.from(document.querySelectorAll(`g.${MARK_CLASSES.legend}`), (g) => ({
      text: g.textContent,
      fill: g.getAttribute('fill'),
    })),
    frontier: document.querySelector(`g.${MARK_CLASSES.frontier} path`)?.getAttribute('d') ?? null,
  };
}

describe('the frontier figure', () => {
  it('draws each run in its own colour, names the runs in the legend, and the frontier across them as a line', () => {
    const svg = plotFrontier([
      { label: 'run 1 (calm)', summary: calm },
      { label: 'run 2 (wild)', summary: wild },
    ]);
    const { dots, legend, frontier } = read(svg);
    expect(dots).toHaveLength(6);
    const fillOf = (text: string) => dots.find((d) => d.title.includes(`"${text}"`))?.fill;
    expect(fillOf('calm dream')).toBe(RUN_COLORS[0]);
    expect(fillOf('wild two')).toBe(RUN_COLORS[1]);
    expect(RUN_COLORS[1]).not.toBe(RUN_COLORS[0]);
    expect(legend).toEqual([
      { text: '● run 1 (calm) (3)', fill: RUN_COLORS[0] },
      { text: '● run 2 (wild) (3)', fill: RUN_COLORS[1] },
      { text: '— nondominated frontier across runs', fill: FIGURE_COLORS.frontier },
    ]);
    expect(frontier).toMatch(/^M[\d.,L]+$/);
    expect(svg).not.toContain('dataset examples'); // no scan, no dataset
  });

  it('joins the merged non-dominated frontier across the runs, whichever run each point is from', () => {
    const plot = frontierPlot(runSeries([calm, wild]), { target: calm.target, model: calm.model.id });
    expect(plot.series.map((s) => s.label)).toEqual(['run 1', 'run 2']);
    expect(plot.merged.map((p) => [p.text, p.run])).toEqual([
      ['calm dream', 'run 1'],
      ['wild one', 'run 2'],
      ['said, "Thank you', 'run 1'],
      ['loud dream', 'run 1'],
      ['wild two', 'run 2'],
      ['wild three', 'run 2'],
    ]);
    expect(plot.merged).toEqual(nondominatedFrontier(plot.merged));
    const sweep = frontierPlot(
      runSeries([calm, wild], 'sweep'),
      { target: calm.target, model: calm.model.id },
      {
        method: 'sweep',
      },
    );
    const all = [...calm.frontier, ...wild.frontier];
    expect(sweep.merged.map((p) => p.text)).toEqual(sweepFrontier(all).map((p) => p.text));
  });

  it('adds a scan’s dataset examples and median rule, and refuses a scan or runs of another target', () => {
    const svg = plotFrontier([calm], { scan });
    const document = svgDocument(svg);
    expect(document.querySelectorAll(`g.${MARK_CLASSES.dataset} circle`)).toHaveLength(2);
    expect(svg).toContain('median dataset xent');
    expect(() => plotFrontier([calm], { scan: fakeScan([[1, 1, 'x']], { target: 'logit:#5' }) })).toThrow(
      CompareError,
    );
    expect(() => plotFrontier([calm, fakeRun([[1, 1, 'x']], { target: 'logit:#5' })])).toThrow(
      /different targets/,
    );
    expect(() => plotFrontier([])).toThrow(CompareError);
  });

  it('shows control characters in texts as their control pictures, so that the SVG stays XML', () => {
    const odd = fakeRun([[1, 2, 'esc \x1b[2m and nul \x00 and del \x7f']]);
    const svg = plotFrontier([odd]);
    expect(svg).toContain('esc ␛[2m and nul ␀ and del ␡');
    for (const c of ['\x00', '\x1b', '\x7f']) expect(svg).not.toContain(c);
    expect([...svgToPng(svg).subarray(1, 4)]).toEqual([0x50, 0x4e, 0x47]); // resvg parses it
  });

  it('writes a page with the figure and the frontier across the runs, texts without JSON escapes', () => {
    const plot = frontierPlot(runSeries([calm, wild]), { target: calm.target, model: calm.model.id });
    const html = frontierHtml(plot);
    expect(html).toMatch(/^<!DOCTYPE html>/);
    expect(html).toContain('<svg xmlns="http://www.w3.org/2000/svg"');
    expect(html).toContain('<code class="t">&quot;said, &quot;Thank you&quot;</code>');
    expect(html).not.toContain('\\&quot;');
    expect(html).toContain(`background:${RUN_COLORS[1]}"></span>run 2</td><td>3</td>`);
  });
});

describe('reverie compare with several runs', () => {
  it('gives each run its colour and names it in the legend and the table', () => {
    const comparison = compare(
      [
        { dir: 'runs/calm', run: calm },
        { dir: 'runs/wild', run: wild },
      ],
      scan,
    );
    const { dots, legend } = read(comparisonFigureOf(comparison).svg);
    expect(new Set(dots.map((d) => d.fill))).toEqual(new Set([RUN_COLORS[0], RUN_COLORS[1]]));
    expect(legend.map((l) => l.text)).toEqual([
      '● runs/calm (3)',
      '● runs/wild (3)',
      '● dataset examples (2)',
    ]);
    const html = comparisonHtml(comparison, comparisonFigureOf(comparison));
    expect(html).toContain('<th>run</th>');
    expect(html).toContain(`background:${RUN_COLORS[1]}"></span>runs/wild</td>`);
    expect(html).toContain('&quot;said, &quot;Thank you&quot;');
    expect(html).not.toContain('\\&quot;');
  });

  it('keeps one run in the dreams’ red, as the paper’s figure', () => {
    const { dots, legend } = read(plotCompare([calm], scan));
    expect(new Set(dots.map((d) => d.fill))).toEqual(new Set([FIGURE_COLORS.dream]));
    expect(legend.map((l) => l.text)).toEqual(['● dreams (3)', '● dataset examples (2)']);
  });
});
