import * as Plot from '@observablehq/plot';
import { Resvg } from '@resvg/resvg-js';
import { parseHTML } from 'linkedom';
import { showControls } from './colors.ts';
import { baseMarks } from './figure-marks.ts';

/** One point of the comparison figure. */
export interface FigurePoint {
  kind: 'dataset' | 'dream';
  /** Mean next-token cross-entropy of the sequence (x). */
  xent: number;
  /** The target's value (y). */
  activation: number;
  text: string;
  /** Where it comes from: the run of a dream (its label), the corpus file of a dataset example. */
  source?: string;
}

/** A point of a frontier line: cross-entropy and activation. */
export interface LinePoint {
  xent: number;
  activation: number;
}

export interface FigureOptions {
  /** The target spec, shown as the title. */
  target: string;
  /** A subtitle line (the model, say). */
  subtitle?: string;
  /** A vertical rule at this cross-entropy (the median dataset example's), labelled. */
  medianXent?: number;
  /** A point to ring (the best dream at a cross-entropy no worse than the median dataset example's). */
  highlight?: FigurePoint;
  /** A frontier across every run, drawn as one dark line (e.g. the merged non-dominated frontier). */
  frontier?: readonly LinePoint[];
  /** How that line joins its points: a Pareto staircase (`step-after`, default) or straight (`linear`). */
  frontierCurve?: 'step-after' | 'linear';
  /** What the legend calls that line (default "frontier across runs"). */
  frontierLabel?: string;
  width?: number;
  height?: number;
}

export interface Figure {
  /** A standalone SVG document. */
  svg: string;
  /** The position scales, data → pixels. */
  x: (xent: number) => number;
  y: (activation: number) => number;
}

export const FIGURE_COLORS = { dataset: '#4269d0', dream: '#e8553e', frontier: '#222222' } as const;

/**
 * One colour per run, in the order the runs come (the first the dreams' red of a one-run figure; never the
 * dataset's blue): Observable's "observable10" scheme without its blues and greys, then again from the start.
 */
export const RUN_COLORS: readonly string[] = [
  FIGURE_COLORS.dream,
  '#3ca951',
  '#efb118',
  '#a463f2',
  '#ff8ab7',
  '#9c6b4e',
  '#6cc5b0',
  '#38761d',
];

/** Class names of the marks' groups, for readers of the SVG (and the tests). */
export const MARK_CLASSES = {
  dataset: 'dataset-examples',
  dream: 'dreams',
  frontier: 'frontier-line',
  legend: 'legend',
} as const;

/** The runs of the dream points, in order of first appearance, each with its colour. */
export function runColors(points: readonly FigurePoint[]): Map<string, string> {
  const colors = new Map<string, string>();
  for (const p of points)
    if (p.kind === 'dream' && !colors.has(p.source ?? ''))
      colors.set(p.source ?? '', RUN_COLORS[colors.size % RUN_COLORS.length] as string);
  return colors;
}

const clipLabel = (label: string, width = 40): string =>
  showControls(label.length > width ? `${label.slice(0, width - 1)}…` : label);

/** A point's hover text: its numbers, its text as it reads (no escapes, in quotes) and where it is from. */
const tooltip = (p: FigurePoint): string =>
  `${p.kind === 'dream' ? 'dream' : 'dataset example'}: activation ${p.activation.toFixed(3)}, xent ${p.xent.toFixed(3)}\n"${showControls(p.text)}"${p.source === undefined ? '' : `\n${showControls(p.source)}`}`;

/**
 * The paper's figure (Thompson et al. 2024, fig. 3 and following): x = cross-entropy, y = activation, the
 * max-activating dataset examples in blue and the dreams' frontier points, each run's joined by a line: in
 * red for one run, in one colour per run with the runs named in the legend for several (a dream's `source`
 * is its run). Optionally a frontier across the runs as a dark line. Rendered server-side by Observable Plot
 * on a linkedom document; every point carries an SVG <title> with its text, which browsers show on hover.
 */
export function comparisonFigure(points: readonly FigurePoint[], options: FigureOptions): Figure {
  const { document } = parseHTML('<!DOCTYPE html><html><body></body></html>');
  const dataset = points.filter((p) => p.kind === 'dataset');
  const dreams = points.filter((p) => p.kind === 'dream');
  const byRun = [...dreams].sort((a, b) => a.xent - b.xent);
  const colors = runColors(points);
  // One run keeps one colour for every mark (as the paper's figure); several runs take one colour each.
  const several = colors.size > 1;
  const dreamColor = several ? (p: FigurePoint) => colors.get(p.source ?? '') as string : FIGURE_COLORS.dream;
  const legend: { text: string; fill: string }[] = several
    ? [...colors].map(([run, fill]) => ({
        text: `● ${clipLabel(run)} (${dreams.filter((p) => (p.source ?? '') === run).length})`,
        fill,
      }))
    : [{ text: `● dreams (${dreams.length})`, fill: FIGURE_COLORS.dream }];
  if (dataset.length > 0 || dreams.length === 0 || options.medianXent !== undefined)
    legend.push({ text: `● dataset examples (${dataset.length})`, fill: FIGURE_COLORS.dataset });
  if (options.frontier)
    legend.push({
      text: `— ${options.frontierLabel ?? 'frontier across runs'}`,
      fill: FIGURE_COLORS.frontier,
    });
  // The legend stacks in the top margin at the right, the title and subtitle at the left.
  const marginTop = Math.max(64, 16 * legend.length + 32);
  const marks = baseMarks(options.medianXent);
  marks.push(
    Plot.line(byRun, {
      x: 'xent',
      y: 'activation',
      z: 'source',
      stroke: dreamColor,
      strokeOpacity: 0.45,
      curve: 'step-after',
    }),
  );
  if (options.frontier)
    marks.push(
      Plot.line(options.frontier, {
        x: 'xent',
        y: 'activation',
        stroke: FIGURE_COLORS.frontier,
        strokeWidth: 1.5,
        strokeOpacity: 0.8,
        curve: options.frontierCurve ?? 'step-after',
        className: MARK_CLASSES.frontier,
      }),
    );
  marks.push(
    Plot.dot(dataset, {
      x: 'xent',
      y: 'activation',
      r: 3.5,
      fill: FIGURE_COLORS.dataset,
      fillOpacity: 0.65,
      title: tooltip,
      className: MARK_CLASSES.dataset,
    }),
    Plot.dot(dreams, {
      x: 'xent',
      y: 'activation',
      r: 4.5,
      fill: dreamColor,
      stroke: 'white',
      strokeWidth: 0.75,
      title: tooltip,
      className: MARK_CLASSES.dream,
    }),
  );
  if (options.highlight)
    marks.push(
      Plot.dot([options.highlight], { x: 'xent', y: 'activation', r: 9, stroke: '#222', strokeWidth: 1.25 }),
    );
  marks.push(
    ...legend.map(({ text, fill }, i) =>
      Plot.text([text], {
        frameAnchor: 'top-right',
        dx: 0,
        dy: -(16 * (legend.length - i) + 10),
        textAnchor: 'end',
        text: (d: string) => d,
        fill,
        fontSize: 12,
        className: MARK_CLASSES.legend,
      }),
    ),
    Plot.text([options.target], {
      frameAnchor: 'top-left',
      dy: -(marginTop - 22),
      textAnchor: 'start',
      fontSize: 15,
      fontWeight: 'bold',
      text: (d: string) => d,
    }),
  );
  if (options.subtitle)
    marks.push(
      Plot.text([options.subtitle], {
        frameAnchor: 'top-left',
        dy: -(marginTop - 38),
        textAnchor: 'start',
        fontSize: 11,
        fill: '#555',
        text: (d: string) => d,
      }),
    );
  const plot = Plot.plot({
    document: document as unknown as Document,
    width: options.width ?? 720,
    height: (options.height ?? 460) + marginTop - 64,
    marginTop,
    marginLeft: 60,
    marginBottom: 44,
    style: { background: 'white', fontSize: '11px' },
    x: { label: 'cross-entropy (mean next-token, nats) →', labelAnchor: 'right', nice: true },
    y: { label: 'activation', labelAnchor: 'center', labelArrow: false, nice: true },
    color: { type: 'identity' },
    marks,
  });
  const svg = plot as unknown as SVGSVGElement;
  svg.setAttribute('xmlns', 'http://www.w3.org/2000/svg');
  const x = plot.scale('x');
  const y = plot.scale('y');
  if (!x?.apply || !y?.apply) throw new Error('the figure has no x and y scales');
  const applyX = x.apply;
  const applyY = y.apply;
  return {
    svg: `${svg.outerHTML}\n`,
    x: (v) => applyX(v) as number,
    y: (v) => applyY(v) as number,
  };
}

/**
 * A PNG of an SVG, rasterized by resvg (a Rust library whose Node binding ships its binary in the npm
 * package) at `scale`× with the system's sans-serif fonts (DejaVu Sans where installed).
 */
export function svgToPng(svg: string, scale = 2): Buffer {
  const resvg = new Resvg(svg, {
    fitTo: { mode: 'zoom', value: scale },
    background: 'white',
    font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans', sansSerifFamily: 'DejaVu Sans' },
  });
  return resvg.render().asPng();
}
