/**
 * The figures, drawn in the browser with Observable Plot: the paper's figure (hover a point for its text,
 * click to pin it), a layer's scatter of top example against best dream, a feature's activation histogram
 * and the sparkline of it in a layer's table, and runs' best activation over their iterations.
 */
import * as Plot from '@observablehq/plot';
import { baseMarks } from '../src/report/figure-marks.ts';
import type { FeatureStats } from '../src/data/feature-stats.ts';
import type { FigurePoint } from '../src/report/figure.ts';
import type { LayerFeature, RunProgress } from '../src/server/types.ts';
import { h, num } from './dom.ts';
import { visible } from './tokens.ts';

export interface FigureColors {
  dataset: string;
  dream: string;
  frontier: string;
  /** Each run's colour, by its label (the dreams' source). */
  runs: [string, string][];
}

const tipText = (p: FigurePoint): string =>
  `${p.kind === 'dream' ? 'dream' : 'dataset example'}: activation ${num(p.activation)}, xent ${num(p.xent)}\n"${visible(p.text)}"${p.source ? `\n${p.source}` : ''}`;

/**
 * The paper's figure: x = cross-entropy, y = activation; dataset examples in blue, each run's frontier in
 * its colour joined by a step line, the median example's cross-entropy as a dashed rule and the best dream
 * at least as fluent ringed. The examples' dots are a group of class `dataset-points`, the dreams' one of
 * `dream-points`, each dot's aria-label its series ("dataset example", "dream of RUN"). `onPin` hears the
 * point clicked (null when unpinned).
 */
export function paperFigure(
  points: readonly FigurePoint[],
  options: {
    colors: FigureColors;
    bar: number | null;
    highlight?: { xent: number; activation: number } | undefined;
    onPin?: (point: FigurePoint | null) => void;
    width?: number;
  },
): HTMLElement {
  const runColor = new Map(options.colors.runs);
  const color = (p: FigurePoint) =>
    p.kind === 'dataset' ? options.colors.dataset : (runColor.get(p.source ?? '') ?? options.colors.dream);
  const dreams = points.filter((p) => p.kind === 'dream').sort((a, b) => a.xent - b.xent);
  const dataset = points.filter((p) => p.kind === 'dataset');
  const marks = baseMarks(options.bar);
  marks.push(
    Plot.line(dreams, {
      x: 'xent',
      y: 'activation',
      z: 'source',
      stroke: color,
      strokeOpacity: 0.45,
      curve: 'step-after',
    }),
    // Each series' dots in a group of its class, each dot labelled by its series (a dream by its run).
    Plot.dot(dataset, {
      x: 'xent',
      y: 'activation',
      r: 3.5,
      fill: color,
      fillOpacity: 0.65,
      className: 'dataset-points',
      ariaLabel: () => 'dataset example',
    }),
    Plot.dot(dreams, {
      x: 'xent',
      y: 'activation',
      r: 4.5,
      fill: color,
      stroke: 'white',
      strokeWidth: 0.75,
      className: 'dream-points',
      ariaLabel: (p: FigurePoint) => `dream of ${p.source ?? ''}`,
    }),
  );
  if (options.highlight)
    marks.push(
      Plot.dot([options.highlight], { x: 'xent', y: 'activation', r: 9, stroke: '#222', strokeWidth: 1.25 }),
    );
  marks.push(Plot.tip(points, Plot.pointer({ x: 'xent', y: 'activation', title: tipText, maxRadius: 20 })));
  const plot = Plot.plot({
    width: options.width ?? 760,
    height: 440,
    marginLeft: 60,
    x: { label: 'cross-entropy (mean next-token, nats) →', labelAnchor: 'right', nice: true },
    y: { label: 'activation', grid: false, nice: true },
    color: { type: 'identity' },
    marks,
  }) as HTMLElement & { value: FigurePoint | null };
  plot.classList.add('figure');
  // Plot's pointer sticks on click (the tip stays until the next click): that pins the point.
  plot.addEventListener('click', () => options.onPin?.(plot.value ?? null));
  return plot;
}

/** A legend for the paper's figure: the dataset's colour and each run's. */
export function figureLegend(colors: FigureColors, dataset: number): HTMLElement {
  const key = (color: string, label: string) =>
    h('span', { class: 'key' }, h('span', { class: 'swatch', style: `background:${color}` }), label);
  return h(
    'div',
    { class: 'legend' },
    key(colors.dataset, `dataset examples (${dataset})`),
    ...(colors.runs.length > 0
      ? colors.runs.map(([run, color]) => key(color, run))
      : [key(colors.dream, 'dreams')]),
  );
}

/**
 * A layer's features: x = the top dataset example's activation, y = the best dream's at most as perplexing
 * as the median example; above the diagonal the dream wins. Clicking a point opens its feature.
 */
export function layerScatter(features: readonly LayerFeature[]): HTMLElement {
  const rows = features.flatMap((f) =>
    f.result?.bestDream
      ? [
          {
            x: f.result.topExample.activation,
            y: f.result.bestDream.activation,
            win: f.result.win,
            label: f.label,
            url: f.url,
          },
        ]
      : [],
  );
  const extent = rows.flatMap((r) => [r.x, r.y]);
  const lo = Math.min(0, ...extent);
  const hi = Math.max(1e-9, ...extent);
  const plot = Plot.plot({
    width: 520,
    height: 420,
    marginLeft: 56,
    x: { label: 'top dataset example activation →', domain: [lo, hi], nice: true },
    y: { label: '↑ best dream at ≤ median example xent', domain: [lo, hi], nice: true },
    color: {
      domain: [true, false],
      range: ['#3ca951', '#e8553e'],
      legend: true,
      tickFormat: (w: boolean) => (w ? 'dream wins' : 'example wins'),
    },
    marks: [
      Plot.line(
        [
          [lo, lo],
          [hi, hi],
        ],
        { stroke: '#aaa', strokeDasharray: '4,3' },
      ),
      Plot.dot(rows, { x: 'x', y: 'y', fill: 'win', r: 4, fillOpacity: 0.8 }),
      Plot.tip(
        rows,
        Plot.pointer({
          x: 'x',
          y: 'y',
          title: (r: (typeof rows)[number]) =>
            `feature ${r.label}\ntop example ${num(r.x)}\nbest dream ${num(r.y)}`,
        }),
      ),
    ],
  }) as HTMLElement & { value: (typeof rows)[number] | null };
  plot.addEventListener('click', () => {
    const url = plot.value?.url;
    if (url) location.assign(url);
  });
  return plot;
}

/** A feature's activation histogram (its statistics' bins), with its quantiles as rules. */
export function histogram(stats: FeatureStats): Element {
  const { lo, width, counts } = stats.histogram;
  const bins = counts.map((count, i) => ({ x1: lo + i * width, x2: lo + (i + 1) * width, count }));
  return Plot.plot({
    width: 520,
    height: 220,
    marginLeft: 56,
    x: { label: 'activation →' },
    y: { label: '↑ count (square root scale)', type: 'sqrt', grid: true },
    marks: [
      Plot.rectY(bins, { x1: 'x1', x2: 'x2', y: 'count', fill: '#4269d0', fillOpacity: 0.8 }),
      Plot.ruleX(stats.quantiles, { x: 'value', stroke: '#e8553e', strokeDasharray: '3,2' }),
      // Neighbouring quantiles' labels alternate between two lines, so that close ones do not overlap.
      ...[0, 1].map((line) =>
        Plot.text(
          stats.quantiles.filter((_, i) => i % 2 === line),
          {
            x: 'value',
            text: (q: { q: number }) => `p${+(q.q * 100).toFixed(1)}`,
            frameAnchor: 'top',
            dy: 4 + 12 * line,
            dx: 2,
            textAnchor: 'start',
            fill: '#e8553e',
            fontSize: 10,
          },
        ),
      ),
      Plot.tip(
        bins,
        Plot.pointerX({
          x1: 'x1',
          x2: 'x2',
          y: 'count',
          title: (b: (typeof bins)[number]) => `[${num(b.x1)}, ${num(b.x2)}): ${b.count}`,
        }),
      ),
    ],
  });
}

/** A histogram as a tiny inline SVG of bars, for a table's row (a square root scale, so that tails show). */
export function sparkline(counts: readonly number[], width = 96, height = 20): SVGSVGElement {
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('width', String(width));
  svg.setAttribute('height', String(height));
  svg.setAttribute('class', 'sparkline');
  const top = Math.sqrt(Math.max(1, ...counts));
  const w = width / Math.max(1, counts.length);
  counts.forEach((c, i) => {
    if (c === 0) return;
    const bar = document.createElementNS('http://www.w3.org/2000/svg', 'rect');
    const y = height * (1 - Math.sqrt(c) / top);
    bar.setAttribute('x', (i * w).toFixed(2));
    bar.setAttribute('y', y.toFixed(2));
    bar.setAttribute('width', Math.max(w - 0.5, 0.5).toFixed(2));
    bar.setAttribute('height', (height - y).toFixed(2));
    svg.append(bar);
  });
  return svg;
}

/**
 * Runs' progress over their iterations: the best activation so far (solid) and the best at most as
 * perplexing as the bar (dashed), each run in its colour; the top dataset activation as a rule.
 */
export function frontierChart(
  progress: readonly RunProgress[],
  options: { colors: Map<string, string>; top?: number | null; width?: number },
): Element {
  const rows = progress.flatMap((p) =>
    p.series.flatMap((s) => [
      { run: p.label, iter: s.iter, value: s.best, kind: 'best' },
      ...(s.fluent === null ? [] : [{ run: p.label, iter: s.iter, value: s.fluent, kind: 'fluent' }]),
    ]),
  );
  const color = (r: { run: string }) => options.colors.get(r.run) ?? '#e8553e';
  const marks: Plot.Markish[] = [
    Plot.line(
      rows.filter((r) => r.kind === 'best'),
      { x: 'iter', y: 'value', z: 'run', stroke: color, curve: 'step-after' },
    ),
    Plot.line(
      rows.filter((r) => r.kind === 'fluent'),
      { x: 'iter', y: 'value', z: 'run', stroke: color, strokeDasharray: '4,3', curve: 'step-after' },
    ),
    Plot.tip(
      rows,
      Plot.pointer({
        x: 'iter',
        y: 'value',
        title: (r: (typeof rows)[number]) =>
          `${r.run}, iteration ${r.iter}\n${r.kind === 'best' ? 'best' : 'best at ≤ median xent'}: ${num(r.value)}`,
      }),
    ),
  ];
  if (options.top !== undefined && options.top !== null)
    marks.unshift(
      Plot.ruleY([options.top], { stroke: '#4269d0', strokeDasharray: '4,3' }),
      Plot.text([options.top], {
        y: (d: number) => d,
        frameAnchor: 'right',
        dy: -6,
        textAnchor: 'end',
        fill: '#4269d0',
        text: () => 'top dataset example',
      }),
    );
  return Plot.plot({
    width: options.width ?? 760,
    height: 260,
    marginLeft: 60,
    x: { label: 'iteration →' },
    y: { label: '↑ activation (solid: best; dashed: best at ≤ median example xent)', grid: true },
    marks,
  });
}
