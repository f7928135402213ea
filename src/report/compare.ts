import { readJsonFile } from '../io/files.ts';
import type { ScanResult } from '../data/scan.ts';
import type { RunSummary } from '../dream/records.ts';
import { comparisonFigure, runColors, type Figure, type FigurePoint } from './figure.ts';
import { escapeHtml, showControls } from './colors.ts';
import { htmlPage } from './html.ts';
import { median } from './stats.ts';
import { FIGURE_COLORS, MARK_CLASSES } from './figure.ts';

/** Runs and a scan that cannot be compared (another target or model), or an unreadable scan file. */
export class CompareError extends Error {
  override name = 'CompareError';
}

/** The paper's comparison, in numbers. */
export interface ComparisonSummary {
  target: string;
  model: string;
  datasetExamples: number;
  dreamPoints: number;
  /** Median cross-entropy of the dataset examples. */
  medianDatasetXent: number;
  topDataset: FigurePoint;
  /** The best dream with xent ≤ the median dataset example's; undefined when no dream is that fluent. */
  bestFluentDream?: FigurePoint;
  /** bestFluentDream.activation / topDataset.activation. */
  ratio?: number;
  /** Things that make the comparison less than like for like (window ≠ dream length, another BOS policy). */
  warnings: string[];
}

export interface Comparison {
  points: FigurePoint[];
  summary: ComparisonSummary;
}

/** A `reverie scan --out` file, checked for the fields the comparison reads. */
export function readScan(path: string): ScanResult {
  let scan: ScanResult;
  try {
    scan = readJsonFile(path) as ScanResult;
  } catch (error) {
    throw new CompareError(`cannot read the scan ${(error as Error).message}`);
  }
  if (typeof scan.target !== 'string' || !Array.isArray(scan.examples))
    throw new CompareError(`${path} is not a reverie scan (no target and examples)`);
  if (scan.examples.length === 0) throw new CompareError(`the scan ${path} holds no examples`);
  return scan;
}

/**
 * The dream frontiers of runs against the dataset examples of a scan of the same target and model, with the
 * paper's summary: the best dream activation at a cross-entropy no worse than the median dataset example's,
 * against the top dataset activation.
 */
export function compare(runs: readonly { dir: string; run: RunSummary }[], scan: ScanResult): Comparison {
  if (runs.length === 0) throw new CompareError('no run to compare');
  const warnings: string[] = [];
  for (const { dir, run } of runs) {
    if (run.target !== scan.target)
      throw new CompareError(`run ${dir} dreams ${run.target}, the scan scored ${scan.target}`);
    if (run.model.id !== scan.model)
      throw new CompareError(`run ${dir} used model ${run.model.id}, the scan ${scan.model}`);
    if (run.options.seqLen !== scan.window)
      warnings.push(`run ${dir} dreams ${run.options.seqLen} tokens, the scan's windows are ${scan.window}`);
    if ((run.bos ?? null) !== (scan.bos ?? null))
      warnings.push(
        `run ${dir} ${run.bos === null ? 'has no BOS' : 'has a BOS'}, the scan's windows do not agree`,
      );
  }
  const dataset: FigurePoint[] = scan.examples.map((e) => ({
    kind: 'dataset',
    xent: e.xent,
    activation: e.activation,
    text: e.text,
    ...(e.source && { source: e.source.file }),
  }));
  const dreams: FigurePoint[] = runs.flatMap(({ dir, run }) =>
    run.frontier.map((p) => ({
      kind: 'dream' as const,
      xent: p.xent,
      activation: p.target,
      text: p.text,
      source: dir,
    })),
  );
  const medianDatasetXent = median(dataset.map((p) => p.xent));
  const topDataset = dataset.reduce((a, b) => (b.activation > a.activation ? b : a));
  const fluent = dreams.filter((p) => p.xent <= medianDatasetXent);
  const bestFluentDream = fluent.length
    ? fluent.reduce((a, b) => (b.activation > a.activation ? b : a))
    : undefined;
  return {
    points: [...dataset, ...dreams],
    summary: {
      target: scan.target,
      model: scan.model,
      datasetExamples: dataset.length,
      dreamPoints: dreams.length,
      medianDatasetXent,
      topDataset,
      ...(bestFluentDream && {
        bestFluentDream,
        ratio: bestFluentDream.activation / topDataset.activation,
      }),
      warnings,
    },
  };
}

const clip = (text: string, width = 80): string => {
  const quoted = JSON.stringify(text);
  return quoted.length > width ? `${quoted.slice(0, width - 1)}…` : quoted;
};

/** The summary as the terminal shows it. */
export function summaryText(s: ComparisonSummary): string {
  const lines = [
    `${s.target} on ${s.model}: ${s.dreamPoints} dream frontier points, ${s.datasetExamples} dataset examples`,
    `  top dataset activation        ${s.topDataset.activation.toFixed(3)}  (xent ${s.topDataset.xent.toFixed(3)})  ${clip(s.topDataset.text)}`,
    `  median dataset cross-entropy  ${s.medianDatasetXent.toFixed(3)}`,
  ];
  if (s.bestFluentDream)
    lines.push(
      `  best dream at xent ≤ ${s.medianDatasetXent.toFixed(3)}   ${s.bestFluentDream.activation.toFixed(3)}  (xent ${s.bestFluentDream.xent.toFixed(3)})  ${clip(s.bestFluentDream.text)}`,
      `  → the best dream as fluent as the median dataset example reaches ${(s.ratio as number).toFixed(2)}× the top dataset activation`,
    );
  else
    lines.push(
      `  no dream is as fluent as the median dataset example (xent ≤ ${s.medianDatasetXent.toFixed(3)})`,
    );
  for (const w of s.warnings) lines.push(`  warning: ${w}`);
  return lines.join('\n');
}

export function comparisonFigureOf(comparison: Comparison): Figure {
  const { summary } = comparison;
  return comparisonFigure(comparison.points, {
    target: summary.target,
    subtitle: `model ${summary.model}`,
    medianXent: summary.medianDatasetXent,
    ...(summary.bestFluentDream && { highlight: summary.bestFluentDream }),
  });
}

/** A point's text in HTML as it reads, in quotes without JSON's escapes, its spaces kept. */
export const textHtml = (text: string): string =>
  `<code class="t">${escapeHtml(`"${showControls(text)}"`)}</code>`;

/** The CSS of the pages with a figure: its hover box, and the tables of points. */
export const FIGURE_PAGE_STYLE = `body { max-width: 980px; }
pre.summary { background: #f6f6f6; padding: 10px; overflow-x: auto; }
#tip { position: fixed; pointer-events: none; display: none; max-width: 420px; background: #fff; border: 1px solid #bbb;
  border-radius: 4px; padding: 6px 8px; font: 13px system-ui, sans-serif; box-shadow: 0 2px 6px #0003; white-space: pre-wrap; }
svg circle { cursor: pointer; }
table { border-collapse: collapse; font-size: 13px; margin-bottom: 2em; }
th, td { border-bottom: 1px solid #ddd; padding: 3px 10px; text-align: left; }
code.t { white-space: pre-wrap; }
.key { display: inline-block; width: 0.8em; height: 0.8em; border-radius: 50%; margin-right: 6px; }`;

/** Hovering a point of the figure shows its <title> at once in a styled box (browsers also show it natively). */
export const FIGURE_HOVER_SCRIPT = `<div id="tip"></div>
<script>
// Hovering a point shows its <title> at once in a styled box (browsers also show the title natively).
const tip = document.getElementById('tip');
for (const g of document.querySelectorAll('g.${MARK_CLASSES.dataset}, g.${MARK_CLASSES.dream}'))
  for (const c of g.querySelectorAll('circle')) {
    const title = c.querySelector('title');
    if (!title) continue;
    const text = title.textContent;
    title.remove();
    c.addEventListener('mouseenter', () => { tip.textContent = text; tip.style.display = 'block'; });
    c.addEventListener('mousemove', (e) => { tip.style.left = e.clientX + 14 + 'px'; tip.style.top = e.clientY + 14 + 'px'; });
    c.addEventListener('mouseleave', () => { tip.style.display = 'none'; });
  }
</script>`;

/** Rows of points, highest activation first; with `colors`, a column naming each dream's run in its colour. */
export function pointRows(points: readonly FigurePoint[], colors?: ReadonlyMap<string, string>): string {
  return [...points]
    .sort((a, b) => b.activation - a.activation)
    .map((p) => {
      const run = colors
        ? `<td><span class="key" style="background:${colors.get(p.source ?? '') ?? FIGURE_COLORS.dream}"></span>${escapeHtml(p.source ?? '')}</td>`
        : '';
      return `<tr><td>${p.activation.toFixed(3)}</td><td>${p.xent.toFixed(3)}</td>${run}<td>${textHtml(p.text)}</td></tr>`;
    })
    .join('\n');
}

/**
 * A self-contained HTML page: the summary, the figure inline (hovering a point shows its text, from the
 * point's SVG <title>), and the points as tables (with several runs, each dream's run in its colour).
 */
export function comparisonHtml(comparison: Comparison, figure: Figure): string {
  const { summary, points } = comparison;
  const colors = runColors(points);
  const several = colors.size > 1;
  const dreams = points.filter((p) => p.kind === 'dream');
  const key = (color: string) => `<span class="key" style="background:${color}"></span>`;
  const title = `Dreams vs. dataset examples: ${summary.target}`;
  return htmlPage(
    title,
    FIGURE_PAGE_STYLE,
    `<pre class="summary">${escapeHtml(summaryText(summary))}</pre>
${figure.svg}
<h2>${several ? [...colors.values()].map(key).join('') : key(FIGURE_COLORS.dream)}Dream frontier points</h2>
<table><tr><th>activation</th><th>xent</th>${several ? '<th>run</th>' : ''}<th>text</th></tr>
${pointRows(dreams, several ? colors : undefined)}
</table>
<h2>${key(FIGURE_COLORS.dataset)}Dataset examples</h2>
<table><tr><th>activation</th><th>xent</th><th>text</th></tr>
${pointRows(points.filter((p) => p.kind === 'dataset'))}
</table>
${FIGURE_HOVER_SCRIPT}`,
  );
}
