import * as Plot from '@observablehq/plot';
import { Resvg } from '@resvg/resvg-js';
import { parseHTML } from 'linkedom';

/** One point of the comparison figure. */
export interface FigurePoint {
  kind: 'dataset' | 'dream';
  /** Mean next-token cross-entropy of the sequence (x). */
  xent: number;
  /** The target's value (y). */
  activation: number;
  text: string;
  /** Where it comes from: the run directory of a dream, the corpus file of a dataset example. */
  source?: string;
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

export const FIGURE_COLORS = { dataset: '#4269d0', dream: '#e8553e' } as const;

/** Class names of the two point marks' groups, for readers of the SVG (and the tests). */
export const MARK_CLASSES = { dataset: 'dataset-examples', dream: 'dreams' } as const;

const tooltip = (p: FigurePoint): string =>
  `${p.kind === 'dream' ? 'dream' : 'dataset example'}: activation ${p.activation.toFixed(3)}, xent ${p.xent.toFixed(3)}\n${JSON.stringify(p.text)}${p.source === undefined ? '' : `\n${p.source}`}`;

/**
 * The paper's figure (Thompson et al. 2024, fig. 3 and following): x = cross-entropy, y = activation, the
 * max-activating dataset examples and the dreams' frontier in two colours, each dream run's frontier joined
 * by a line. Rendered server-side by Observable Plot on a linkedom document; every point carries an SVG
 * <title> with its text, which browsers show on hover.
 */
export function comparisonFigure(points: readonly FigurePoint[], options: FigureOptions): Figure {
  const { document } = parseHTML('<!DOCTYPE html><html><body></body></html>');
  const dataset = points.filter((p) => p.kind === 'dataset');
  const dreams = points.filter((p) => p.kind === 'dream');
  const byRun = [...dreams].sort((a, b) => a.xent - b.xent);
  const marks: Plot.Markish[] = [Plot.gridX({ strokeOpacity: 0.06 }), Plot.gridY({ strokeOpacity: 0.06 })];
  if (options.medianXent !== undefined)
    marks.push(
      Plot.ruleX([options.medianXent], { stroke: '#888', strokeDasharray: '4,3' }),
      Plot.text([options.medianXent], {
        x: (d: number) => d,
        frameAnchor: 'bottom',
        dy: -4,
        dx: 4,
        textAnchor: 'start',
        fill: '#666',
        text: () => 'median dataset xent',
      }),
    );
  marks.push(
    Plot.line(byRun, {
      x: 'xent',
      y: 'activation',
      z: 'source',
      stroke: FIGURE_COLORS.dream,
      strokeOpacity: 0.45,
      curve: 'step-after',
    }),
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
      fill: FIGURE_COLORS.dream,
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
  const legend = [
    { text: `● dreams (${dreams.length})`, fill: FIGURE_COLORS.dream, dy: -42 },
    { text: `● dataset examples (${dataset.length})`, fill: FIGURE_COLORS.dataset, dy: -26 },
  ];
  marks.push(
    ...legend.map(({ text, fill, dy }) =>
      Plot.text([text], {
        frameAnchor: 'top-right',
        dx: 0,
        dy,
        textAnchor: 'end',
        text: (d: string) => d,
        fill,
        fontSize: 12,
      }),
    ),
    Plot.text([options.target], {
      frameAnchor: 'top-left',
      dy: -42,
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
        dy: -26,
        textAnchor: 'start',
        fontSize: 11,
        fill: '#555',
        text: (d: string) => d,
      }),
    );
  const plot = Plot.plot({
    document: document as unknown as Document,
    width: options.width ?? 720,
    height: options.height ?? 460,
    marginTop: 64,
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
