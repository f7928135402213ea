import { writeFileSync } from 'node:fs';
import { readRunSummary } from '../../dream/store.ts';
import { compare, comparisonFigureOf, comparisonHtml, readScan, summaryText } from '../../report/compare.ts';
import { svgToPng } from '../../report/figure.ts';
import { UsageError, type Command } from '../command.ts';

const usage = `Usage: reverie compare --runs DIR… --scan FILE [--out FIG.svg] [--png FIG.png] [--html FILE] [--json]

The paper's figure: activation (y) against cross-entropy (x) for the dreams' frontier points of the runs in
DIR… and the max-activating dataset examples of \`reverie scan --out FILE\` (same target and model), in two
colours. Prints the paper's summary: the best dream activation at a cross-entropy no worse than the median
dataset example's, against the top dataset activation.

Options:
      --runs DIR   a run directory (reverie dream --out); repeat, or list more after the options
      --scan FILE  the scan's JSON (reverie scan --out)
      --out FILE   write the figure as SVG
      --png FILE   write the figure as PNG (2× resolution)
      --html FILE  write a self-contained page: the figure (hover a point for its text) and the points
      --json       print the summary as JSON`;

export const compareCommand: Command = {
  name: 'compare',
  summary:
    "the paper's figure: activation vs. cross-entropy, dreams against dataset examples (SVG/PNG + HTML)",
  usage,
  allowPositionals: true,
  options: {
    runs: { type: 'string', multiple: true },
    scan: { type: 'string' },
    out: { type: 'string' },
    png: { type: 'string' },
    html: { type: 'string' },
    json: { type: 'boolean' },
  },
  async run(values, positionals) {
    const dirs = [...((values.runs as string[] | undefined) ?? []), ...positionals];
    if (dirs.length === 0) throw new UsageError(`name at least one run with --runs DIR\n\n${usage}`);
    const scanPath = values.scan as string | undefined;
    if (scanPath === undefined) throw new UsageError(`--scan FILE is required\n\n${usage}`);
    const runs = dirs.map((dir) => ({ dir, run: readRunSummary(dir) }));
    const comparison = compare(runs, readScan(scanPath));
    const written: string[] = [];
    const needFigure = values.out !== undefined || values.png !== undefined || values.html !== undefined;
    if (needFigure) {
      const figure = comparisonFigureOf(comparison);
      if (values.out !== undefined) {
        writeFileSync(values.out as string, figure.svg);
        written.push(values.out as string);
      }
      if (values.png !== undefined) {
        writeFileSync(values.png as string, svgToPng(figure.svg));
        written.push(values.png as string);
      }
      if (values.html !== undefined) {
        writeFileSync(values.html as string, comparisonHtml(comparison, figure));
        written.push(values.html as string);
      }
    }
    if (values.json) console.log(JSON.stringify(comparison.summary));
    else console.log(summaryText(comparison.summary));
    if (written.length > 0) process.stderr.write(`wrote ${written.join(', ')}\n`);
  },
};
