import { writeFileSync } from 'node:fs';
import type { Candidate } from '../../dream/epo.ts';
import { loadModel } from '../../models/load.ts';
import type { Model } from '../../models/model.ts';
import { svgToPng } from '../../report/figure.ts';
import {
  frontierHtml,
  frontierOf,
  frontierPlot,
  uniqueLabels,
  type FrontierSeries,
} from '../../report/frontier.ts';
import type { OpenedRun } from '../../store/open.ts';
import { UsageError, type Command } from '../command.ts';
import { checkOutputFile } from '../paths.ts';
import { plainHelp, PLAIN_OPTION, promptText, tokenStyle } from '../progress.ts';
import { cliRunReader, STORE_HELP, STORE_OPTION } from '../runs.ts';

const usage = `Usage: reverie frontier RUN… [--method sweep|nondominated] [--svg FILE] [--png FILE] [--html FILE] [--plain] [--json] [--store PATH]

The Pareto frontier of target against cross-entropy over every candidate the runs evaluated. A RUN is a
store id or name (reverie ls), or a folder of reverie export. The figure shows each run's frontier in its own
colour, named in the legend, and the frontier across the runs as a line.

Options:
${STORE_HELP}
      --method M   sweep: the reference's penalty sweep, for each λ over 1/linspace(0, 50, 1000)[1:] the
                   candidate maximizing target − λ·xent; nondominated (default): the exact non-dominated set
      --svg FILE   write the figure as SVG
      --png FILE   write the figure as PNG (2× resolution)
      --html FILE  write a self-contained page: the figure (hover a point for its text) and the frontier
${plainHelp(19)}
      --json       print [{target, xent, ids, text, run}] instead of a table`;

export const frontierCommand: Command = {
  name: 'frontier',
  summary: 'the Pareto frontier (activation vs. cross-entropy) across one or more runs, as a table or figure',
  usage,
  allowPositionals: true,
  options: {
    method: { type: 'string' },
    json: { type: 'boolean' },
    svg: { type: 'string' },
    png: { type: 'string' },
    html: { type: 'string' },
    ...PLAIN_OPTION,
    ...STORE_OPTION,
  },
  async run(values, refs) {
    if (refs.length === 0) throw new UsageError(`name at least one run\n\n${usage}`);
    const method = (values.method as string | undefined) ?? 'nondominated';
    if (method !== 'sweep' && method !== 'nondominated')
      throw new UsageError(`--method must be sweep or nondominated, got "${method}"`);
    for (const flag of ['svg', 'png', 'html'])
      if (values[flag] !== undefined) checkOutputFile(`--${flag}`, values[flag] as string);
    const reader = cliRunReader(values);
    const runs: OpenedRun[] = [];
    const perRun: Candidate[][] = [];
    try {
      for (const ref of refs) {
        const run = await reader.open(ref);
        runs.push(run);
        perRun.push(run.candidates());
      }
    } finally {
      reader.close();
    }
    const targets = new Set(runs.map((r) => r.summary.target));
    if (targets.size > 1)
      throw new UsageError(`the runs dream different targets: ${[...targets].join(', ')}`);
    const points = perRun.flatMap((candidates, i) =>
      candidates.map((c) => ({ ...c, run: (runs[i] as OpenedRun).label })),
    );
    const frontier = frontierOf(points, method);
    const models = new Map<string, Model>();
    const modelOf = async (label: string) => {
      const id = runs.find((r) => r.label === label)!.summary.model.id;
      if (!models.has(id)) models.set(id, await loadModel(id));
      return models.get(id)!;
    };
    const decode = async (run: string, ids: number[]) =>
      (await modelOf(run)).tokenizer?.decode(ids) ?? ids.join(' ');
    const rows = [];
    for (const p of frontier) rows.push({ ...p, text: await decode(p.run, p.ids) });

    const written = await writeFigures(values, runs, perRun, method, decode);
    if (values.json) {
      console.log(
        JSON.stringify(rows.map(({ target, xent, ids, text, run }) => ({ target, xent, ids, text, run }))),
      );
    } else {
      const several = runs.length > 1;
      const runWidth = Math.min(24, Math.max(3, ...runs.map((r) => r.label.length)));
      const style = tokenStyle(values);
      console.log(
        `${method} frontier of ${[...targets][0]} over ${points.length} candidates from ${runs.length} run(s):`,
      );
      console.log(
        `  ${'target'.padStart(9)}  ${'xent'.padStart(6)}  ${several ? `${'run'.padEnd(runWidth)}  ` : ''}prompt`,
      );
      for (const r of rows) {
        const run = several ? `${r.run.slice(0, runWidth).padEnd(runWidth)}  ` : '';
        console.log(
          `  ${r.target.toFixed(3).padStart(9)}  ${r.xent.toFixed(3).padStart(6)}  ${run}${promptText(await modelOf(r.run), r.ids, 90, style)}`,
        );
      }
    }
    if (written.length > 0) process.stderr.write(`wrote ${written.join(', ')}\n`);
  },
};

/** The figure (--svg, --png) and page (--html) of the runs' frontiers, where asked for; the files written. */
async function writeFigures(
  values: Record<string, unknown>,
  runs: readonly OpenedRun[],
  perRun: readonly Candidate[][],
  method: 'sweep' | 'nondominated',
  decode: (run: string, ids: number[]) => Promise<string>,
): Promise<string[]> {
  const [svg, png, html] = (['svg', 'png', 'html'] as const).map((f) => values[f] as string | undefined);
  if (svg === undefined && png === undefined && html === undefined) return [];
  const models = new Set(runs.map((r) => r.summary.model.id));
  if (models.size > 1)
    throw new UsageError(`the runs used different models: ${[...models].join(', ')}; a figure needs one`);
  const labels = uniqueLabels(runs.map((r) => r.label));
  const series: FrontierSeries[] = [];
  for (const [i, run] of runs.entries()) {
    const points = [];
    for (const c of frontierOf(perRun[i] as Candidate[], method))
      points.push({ ...c, text: await decode(run.label, c.ids) });
    series.push({ label: labels[i] as string, points });
  }
  const first = runs[0] as OpenedRun;
  const plot = frontierPlot(
    series,
    { target: first.summary.target, model: first.summary.model.id },
    { method },
  );
  const written: string[] = [];
  if (svg !== undefined) {
    writeFileSync(svg, plot.figure.svg);
    written.push(svg);
  }
  if (png !== undefined) {
    writeFileSync(png, svgToPng(plot.figure.svg));
    written.push(png);
  }
  if (html !== undefined) {
    writeFileSync(html, frontierHtml(plot));
    written.push(html);
  }
  return written;
}
