import { writeFileSync } from 'node:fs';
import { compare, comparisonFigureOf, comparisonHtml, summaryText } from '../../report/compare.ts';
import { svgToPng } from '../../report/figure.ts';
import { UsageError, type Command } from '../command.ts';
import { checkOutputFile } from '../paths.ts';
import { cliRunReader, cliScan, STORE_HELP, STORE_OPTION } from '../runs.ts';

const usage = `Usage: reverie compare --runs RUN… --scan FILE [--out FIG.svg] [--png FIG.png] [--html FILE] [--json]

The paper's figure: activation (y) against cross-entropy (x) for the dreams' frontier points of the runs in
DIR… and the max-activating dataset examples of \`reverie scan --out FILE\` (same target and model), in two
colours (a RUN is a store id or name, or a folder of reverie export). Prints the paper's summary: the best dream activation at a cross-entropy no worse than the median
dataset example's, against the top dataset activation.

Options:
      --runs RUN   a run: store id or name, or exported folder; repeat, or list more after the options
      --scan SCAN  the scan: its JSON (reverie scan --out), or its id in the store
      --out FILE   write the figure as SVG
      --png FILE   write the figure as PNG (2× resolution)
      --html FILE  write a self-contained page: the figure (hover a point for its text) and the points
      --json       print the summary as JSON
${STORE_HELP}`;

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
    ...STORE_OPTION,
  },
  async run(values, positionals) {
    const refs = [...((values.runs as string[] | undefined) ?? []), ...positionals];
    if (refs.length === 0) throw new UsageError(`name at least one run with --runs RUN\n\n${usage}`);
    const scanPath = values.scan as string | undefined;
    if (scanPath === undefined) throw new UsageError(`--scan FILE is required\n\n${usage}`);
    for (const flag of ['out', 'png', 'html'])
      if (values[flag] !== undefined) checkOutputFile(`--${flag}`, values[flag] as string);
    const reader = cliRunReader(values);
    const runs = [];
    try {
      for (const ref of refs) {
        const { label, summary } = await reader.open(ref);
        runs.push({ dir: label, run: summary });
      }
    } finally {
      reader.close();
    }
    const comparison = compare(runs, cliScan(values, scanPath));
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
