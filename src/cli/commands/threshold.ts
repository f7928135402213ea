import { corpusSize } from '../../data/corpus.ts';
import { DEFAULT_SCAN_OPTIONS, type ScanProgress } from '../../data/scan.ts';
import { xentThreshold, type ThresholdResult } from '../../data/threshold.ts';
import { DEFAULT_MODEL } from '../../io/resolve.ts';
import { loadModel } from '../../models/load.ts';
import { UsageError, type Command } from '../command.ts';
import { numberOption, threadsOption } from '../numbers.ts';
import { ScanProgressView } from './scan.ts';

const usage = `Usage: reverie threshold [--model M] --corpus FILE… [--quantile 0.99]… [--window ${DEFAULT_SCAN_OPTIONS.window}]

A perplexity filter's threshold: the cross-entropy below which a quantile of the corpus's windows fall.
Every window of --window consecutive tokens of a document (with a BOS before it where the tokenizer adds one,
as a dream) is scored with the dream's cross-entropy (mean next-token xent of the window as a standalone
sequence); the q-quantile is the ⌈q·n⌉-th smallest of the n windows' xents, exactly. A filter that refuses
prompts above it passes that share of real text. Prints the thresholds and a histogram.

Options:
  -m, --model M       path or hub id (default ${DEFAULT_MODEL})
  -c, --corpus FILE   a corpus file; repeat for several (or list them after the options)
  -q, --quantile Q    a quantile in (0, 1]; repeat for several (default 0.99)
      --window N      tokens per window: the prompts' --seq-len (default ${DEFAULT_SCAN_OPTIONS.window})
      --no-bos        no BOS before the windows (as a dream with --no-bos)
      --max-tokens N  stop after N tokens (default: the whole corpus)
      --json          print {model, window, bos, corpus, documents, tokensScanned, windows, seconds,
                      thresholds: [{q, xent}], stats} as JSON
      --batch N       windows per evaluation batch (default ${DEFAULT_SCAN_OPTIONS.batchSize})
      --threads N     ONNX Runtime threads (default: all cores)`;

/** The result as lines: the thresholds, the spread and a histogram of the windows' xent. */
export function thresholdLines(result: ThresholdResult, width = 40, rows = 16): string[] {
  const { stats } = result;
  const lines = [
    `cross-entropy of ${result.windows.toLocaleString('en-US')} windows of ${result.bos === null ? '' : 'BOS + '}${result.window} tokens ` +
      `(${result.tokensScanned.toLocaleString('en-US')} tokens, ${result.seconds.toFixed(1)} s) on ${result.model}:`,
    ...result.thresholds.map(
      ({ q, xent }) =>
        `  quantile ${String(q).padEnd(6)} ${xent.toFixed(3)}  (${(100 * q).toFixed(2)}% of windows at or below)`,
    ),
    `  min ${stats.min?.toFixed(3)}  mean ${stats.mean?.toFixed(3)}  max ${stats.max?.toFixed(3)}`,
  ];
  const { lo, width: fine, counts: fineCounts } = stats.histogram;
  // At most `rows` rows: adjacent bins of the reported histogram merged.
  const merge = Math.ceil(fineCounts.length / rows);
  const bin = fine * merge;
  const counts = Array.from({ length: Math.ceil(fineCounts.length / merge) }, (_, i) =>
    fineCounts.slice(i * merge, (i + 1) * merge).reduce((a, b) => a + b, 0),
  );
  const most = Math.max(...counts);
  counts.forEach((n, i) => {
    const from = lo + i * bin;
    const bar = '█'.repeat(Math.round((width * n) / Math.max(most, 1)));
    lines.push(`  ${from.toFixed(2).padStart(6)}–${(from + bin).toFixed(2).padEnd(6)} ${bar} ${n}`);
  });
  return lines;
}

export const thresholdCommand: Command = {
  name: 'threshold',
  summary: "a perplexity filter's threshold: the xent quantile of a corpus's windows",
  usage,
  allowPositionals: true,
  options: {
    model: { type: 'string', short: 'm' },
    corpus: { type: 'string', short: 'c', multiple: true },
    quantile: { type: 'string', short: 'q', multiple: true },
    window: { type: 'string' },
    'no-bos': { type: 'boolean' },
    'max-tokens': { type: 'string' },
    json: { type: 'boolean' },
    batch: { type: 'string' },
    threads: { type: 'string' },
  },
  async run(values, positionals) {
    const corpus = [...((values.corpus as string[] | undefined) ?? []), ...positionals];
    if (corpus.length === 0) throw new UsageError(`name at least one --corpus file\n\n${usage}`);
    const quantiles = ((values.quantile as string[] | undefined) ?? ['0.99']).map((raw) => {
      const q = Number(raw);
      if (raw.trim() === '' || !(q > 0 && q <= 1))
        throw new UsageError(`--quantile must be a number in (0, 1], got "${raw}"\n\n${usage}`);
      return q;
    });
    const n = (name: string, fallback: number) => numberOption(values, name, fallback, { usage, min: 1 });
    const window = n('window', DEFAULT_SCAN_OPTIONS.window);
    const batchSize = n('batch', DEFAULT_SCAN_OPTIONS.batchSize);
    const maxTokens = values['max-tokens'] === undefined ? undefined : n('max-tokens', 0);
    const threads = threadsOption(values, usage);
    corpus.forEach(corpusSize);
    const model = await loadModel((values.model as string | undefined) ?? DEFAULT_MODEL);
    const view = new ScanProgressView();
    const result = await xentThreshold({
      model,
      corpus,
      quantiles,
      window,
      batchSize,
      ...(values['no-bos'] === true && { bos: false }),
      ...(maxTokens !== undefined && { maxTokens }),
      ...(threads !== undefined && { threads }),
      onProgress: (p: ScanProgress) => view.update(p),
    });
    if (values.json) console.log(JSON.stringify(result));
    else for (const line of thresholdLines(result)) console.log(line);
  },
};
