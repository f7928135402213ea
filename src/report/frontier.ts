/**
 * The frontier of dream runs as a figure, with or without a scan's dataset examples: each run's frontier
 * points in its own colour, named in the legend, and the frontier across the runs as one line.
 */
import type { ScanResult } from '../data/scan.ts';
import type { Candidate } from '../dream/epo.ts';
import { nondominatedFrontier, sweepFrontier } from '../dream/frontier.ts';
import type { FrontierPoint, RunSummary } from '../dream/records.ts';
import { escapeHtml } from './colors.ts';
import {
  compare,
  CompareError,
  comparisonFigureOf,
  FIGURE_HOVER_SCRIPT,
  FIGURE_PAGE_STYLE,
  pointRows,
} from './compare.ts';
import { comparisonFigure, runColors, type Figure, type FigurePoint } from './figure.ts';
import { htmlPage } from './html.ts';
import { median } from './stats.ts';

/** `nondominated`: the exact non-dominated set; `sweep`: the reference's penalty sweep. */
export type FrontierMethod = 'nondominated' | 'sweep';

/**
 * A run as the plots take it: its summary (named `run 1`, `run 2`, … in the legend), or a run with a label,
 * as `RunReader.open` gives it (OpenedRun) or as written by hand: `{ label, summary }`.
 */
export type PlotRun = RunSummary | { label: string; summary: RunSummary; candidates?: () => Candidate[] };

/** One run's frontier points, under its label. */
export interface FrontierSeries {
  label: string;
  points: FrontierPoint[];
}

export interface FrontierPlotOptions {
  /** Also the dataset examples of this scan (same target and model), and a rule at their median xent. */
  scan?: ScanResult;
  /** Which frontier of each run, and across the runs (default `nondominated`). */
  method?: FrontierMethod;
  width?: number;
  height?: number;
}

/** The frontier of points by `method`. */
export function frontierOf<T extends Candidate>(points: readonly T[], method: FrontierMethod): T[] {
  return method === 'sweep' ? sweepFrontier(points) : nondominatedFrontier(points);
}

const summaryOf = (run: PlotRun): RunSummary => ('summary' in run ? run.summary : run);

/**
 * Each run's frontier under its label (a summary's frontier is the exact non-dominated set of every
 * candidate it evaluated, and the sweep's winners are among them). Repeated labels get `#2`, `#3`, ….
 */
export function runSeries(
  runs: readonly PlotRun[],
  method: FrontierMethod = 'nondominated',
): FrontierSeries[] {
  const labels = uniqueLabels(runs.map((run, i) => ('summary' in run ? run.label : `run ${i + 1}`)));
  return runs.map((run, i) => ({
    label: labels[i] as string,
    points: frontierOf(summaryOf(run).frontier, method),
  }));
}

/** Labels made distinct: a repeated one gets ` #2`, ` #3`, … */
export function uniqueLabels(labels: readonly string[]): string[] {
  const seen = new Map<string, number>();
  return labels.map((label) => {
    const n = (seen.get(label) ?? 0) + 1;
    seen.set(label, n);
    return n === 1 ? label : `${label} #${n}`;
  });
}

/** What the figure of a frontier shows: its runs' series, and their frontier across the runs. */
export interface FrontierPlot {
  target: string;
  model: string;
  method: FrontierMethod;
  series: FrontierSeries[];
  /** The frontier (by method) of every run's points together. */
  merged: (FrontierPoint & { run: string })[];
  figure: Figure;
}

/**
 * The figure of runs' frontiers of one target and model: x = cross-entropy, y = activation, each run's
 * frontier points in its colour (named in the legend) joined by a step line, the frontier across the runs as
 * a dark line (a staircase for `nondominated`, straight between the sweep's winners, which lie on the upper
 * convex hull), and with a scan its dataset examples in blue and a rule at their median cross-entropy.
 */
export function frontierPlot(
  series: readonly FrontierSeries[],
  about: { target: string; model: string },
  options: FrontierPlotOptions = {},
): FrontierPlot {
  const method = options.method ?? 'nondominated';
  const { scan } = options;
  if (scan && scan.target !== about.target)
    throw new CompareError(`the runs dream ${about.target}, the scan scored ${scan.target}`);
  if (scan && scan.model !== about.model)
    throw new CompareError(`the runs used model ${about.model}, the scan ${scan.model}`);
  const merged = frontierOf(
    series.flatMap((s) => s.points.map((p) => ({ ...p, run: s.label }))),
    method,
  );
  const dreams = dreamPoints(series);
  const dataset: FigurePoint[] = (scan?.examples ?? []).map((e) => ({
    kind: 'dataset',
    xent: e.xent,
    activation: e.activation,
    text: e.text,
    ...(e.source && { source: e.source.file }),
  }));
  const runs = series.length === 1 ? '1 run' : `${series.length} runs`;
  const figure = comparisonFigure([...dataset, ...dreams], {
    target: about.target,
    subtitle: `model ${about.model} · ${method} frontier of ${runs}`,
    ...(dataset.length > 0 && { medianXent: median(dataset.map((p) => p.xent)) }),
    frontier: merged.map((p) => ({ xent: p.xent, activation: p.target })),
    frontierCurve: method === 'sweep' ? 'linear' : 'step-after',
    frontierLabel: `${method} frontier across runs`,
    ...(options.width !== undefined && { width: options.width }),
    ...(options.height !== undefined && { height: options.height }),
  });
  return { ...about, method, series: [...series], merged, figure };
}

/** The series' points as the figure's dream points, each from its run. */
const dreamPoints = (series: readonly FrontierSeries[]): FigurePoint[] =>
  series.flatMap((s) =>
    s.points.map((p) => ({
      kind: 'dream' as const,
      xent: p.xent,
      activation: p.target,
      text: p.text,
      source: s.label,
    })),
  );

/** The runs' target and model, which must be one of each. */
function aboutRuns(runs: readonly PlotRun[]): { target: string; model: string } {
  if (runs.length === 0) throw new CompareError('no run to plot');
  const targets = new Set(runs.map((r) => summaryOf(r).target));
  if (targets.size > 1)
    throw new CompareError(`the runs dream different targets: ${[...targets].join(', ')}`);
  const models = new Set(runs.map((r) => summaryOf(r).model.id));
  if (models.size > 1) throw new CompareError(`the runs used different models: ${[...models].join(', ')}`);
  return { target: [...targets][0] as string, model: [...models][0] as string };
}

/**
 * The frontier of runs as an SVG document: each run's frontier in its own colour with its label in the
 * legend, and the frontier across the runs as a line; with `scan`, its dataset examples too.
 */
export function plotFrontier(runs: readonly PlotRun[], options: FrontierPlotOptions = {}): string {
  return frontierPlot(runSeries(runs, options.method), aboutRuns(runs), options).figure.svg;
}

/**
 * The paper's figure (what `reverie compare` draws) as an SVG document: the runs' frontier points (one colour
 * per run) against the scan's dataset examples, the median dataset cross-entropy, and a ring around the best
 * dream at least as fluent.
 */
export function plotCompare(runs: readonly PlotRun[], scan: ScanResult): string {
  const labels = runSeries(runs).map((s) => s.label);
  const comparison = compare(
    runs.map((run, i) => ({ dir: labels[i] as string, run: summaryOf(run) })),
    scan,
  );
  return comparisonFigureOf(comparison).svg;
}

/**
 * A self-contained HTML page of a frontier plot: the figure (hover a point for its text), the frontier
 * across the runs as a table, and each run's point count in its colour.
 */
export function frontierHtml(plot: FrontierPlot): string {
  const colors = runColors(dreamPoints(plot.series));
  const key = (label: string) =>
    `<span class="key" style="background:${colors.get(label) ?? '#888'}"></span>${escapeHtml(label)}`;
  const runs = plot.series
    .map((s) => `<tr><td>${key(s.label)}</td><td>${s.points.length}</td></tr>`)
    .join('\n');
  const merged: FigurePoint[] = plot.merged.map((p) => ({
    kind: 'dream',
    xent: p.xent,
    activation: p.target,
    text: p.text,
    source: p.run,
  }));
  const title = `Frontier of ${plot.target}`;
  return htmlPage(
    title,
    FIGURE_PAGE_STYLE,
    `<p>Model <code>${escapeHtml(plot.model)}</code>; the ${escapeHtml(plot.method)} frontier of each run, and across them.</p>
${plot.figure.svg}
<h2>Runs</h2>
<table><tr><th>run</th><th>frontier points</th></tr>
${runs}
</table>
<h2>Frontier across the runs</h2>
<table><tr><th>activation</th><th>xent</th><th>run</th><th>text</th></tr>
${pointRows(merged, colors)}
</table>
${FIGURE_HOVER_SCRIPT}`,
  );
}
