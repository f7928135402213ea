import { renameSync, writeFileSync } from 'node:fs';
import { corpusSize } from '../../data/corpus.ts';
import { DEFAULT_SCAN_OPTIONS, scanCorpus, type ScanProgress, type ScanResult } from '../../data/scan.ts';
import { DEFAULT_MODEL } from '../../io/resolve.ts';
import { loadModel } from '../../models/load.ts';
import { TARGET_SYNTAX } from '../../objectives/target.ts';
import { UsageError, type Command } from '../command.ts';
import { numberOption, threadsOption } from '../numbers.ts';
import { checkOutputFile } from '../paths.ts';
import { cliStore, modelSha256, STORE_HELP, STORE_OPTION } from '../runs.ts';
import { saveScan } from '../../store/results.ts';

const d = DEFAULT_SCAN_OPTIONS;

const usage = `Usage: reverie scan [--model M] --target T --corpus FILE… [--top ${d.top}] [--window ${d.window}] [--out FILE]

Finds the max-activating dataset examples of a target: streams the corpus files (plain text, documents
separated by blank lines; or JSONL with a "text" field per line), tokenizes each document and scores every
window of --window consecutive tokens at its last position (the target's position), with a BOS before the
window where the tokenizer adds one, as a dream. Keeps the --top distinct windows of highest activation, each
with its own cross-entropy as a standalone sequence. Progress on stderr; the examples on stdout.

Targets:
  ${TARGET_SYNTAX}

Options:
  -m, --model M       path or hub id (default ${DEFAULT_MODEL})
  -t, --target T      the target spec
  -c, --corpus FILE   a corpus file; repeat for several (or list them after the options)
      --top K         examples to keep (default ${d.top})
      --window N      tokens per window: the dream's --seq-len (default ${d.window})
      --no-bos        no BOS before the windows (as a dream with --no-bos)
      --max-tokens N  stop after N tokens, within a document if need be (default: the whole corpus)
      --out FILE      write {model, target, window, bos, corpus, documents, tokensScanned, windows, seconds,
                      examples: [{text, ids, activation, xent, source: {file, document, token}}]}, highest
                      activation first
      --json          print that JSON on stdout instead of the table
      --batch N       windows per evaluation batch (default ${d.batchSize})
      --threads N     ONNX Runtime threads (default: all cores)
${STORE_HELP}

The scan is kept in the store too; its id stands for it wherever a scan is taken.`;

/** The share of a scan done: of the corpus's bytes, or of its token limit where that ends it sooner. */
function scanDone(p: ScanProgress): number {
  const bytes = p.totalBytes > 0 ? p.bytesRead / p.totalBytes : 1;
  return Math.min(1, Math.max(bytes, p.maxTokens ? p.tokensScanned / p.maxTokens : 0));
}

/** A duration for a progress line: 42s, 3m05s, 1h02m. */
function duration(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor(s / 60) % 60).padStart(2, '0')}m`;
}

/**
 * A progress bar with tokens/s and the time left: redrawn in place on a terminal, a line every few seconds
 * otherwise. With a token limit it counts tokens against it.
 */
export class ScanProgressView {
  private last = 0;
  constructor(private readonly stream: NodeJS.WriteStream = process.stderr) {}

  update(p: ScanProgress, final = false): void {
    const now = performance.now();
    const tty = this.stream.isTTY === true;
    if (!final && now - this.last < (tty ? 100 : 5000)) return;
    this.last = now;
    const fraction = scanDone(p);
    const width = 24;
    const filled = Math.round(fraction * width);
    const rate = p.seconds > 0 ? Math.round(p.tokensScanned / p.seconds) : 0;
    const limit = p.maxTokens === undefined ? '' : `/${p.maxTokens.toLocaleString('en-US')}`;
    const left =
      fraction > 0 && fraction < 1 ? `  ${duration((p.seconds * (1 - fraction)) / fraction)} left` : '';
    const line =
      `scan [${'█'.repeat(filled)}${' '.repeat(width - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}%  ` +
      `${p.tokensScanned.toLocaleString('en-US')}${limit} tokens  ${rate.toLocaleString('en-US')} tokens/s  ` +
      `${p.windows.toLocaleString('en-US')} windows  best ${p.best === undefined ? '—' : p.best.toFixed(3)}${left}`;
    if (tty) this.stream.write(`\r\x1b[2K${line}${final ? '\n' : ''}`);
    else this.stream.write(`${line}\n`);
  }
}

export function printScan(scan: ScanResult, write: (line: string) => void): void {
  write(
    `top ${scan.examples.length} examples of ${scan.target} on ${scan.model} over ${scan.tokensScanned.toLocaleString('en-US')} tokens ` +
      `(${scan.windows.toLocaleString('en-US')} windows of ${scan.bos === null ? '' : 'BOS + '}${scan.window} tokens, ${scan.seconds.toFixed(1)} s):`,
  );
  write(`  ${'rank'.padStart(4)}  ${'activation'.padStart(10)}  ${'xent'.padStart(6)}  text`);
  scan.examples.forEach((e, i) => {
    const text = JSON.stringify(e.text);
    write(
      `  ${String(i + 1).padStart(4)}  ${e.activation.toFixed(3).padStart(10)}  ${e.xent.toFixed(3).padStart(6)}  ${text.length > 90 ? `${text.slice(0, 89)}…` : text}`,
    );
  });
}

export const scanCommand: Command = {
  name: 'scan',
  summary: 'stream a text corpus: the top-k max-activating dataset examples of a target, with their xent',
  usage,
  allowPositionals: true,
  options: {
    model: { type: 'string', short: 'm' },
    target: { type: 'string', short: 't' },
    corpus: { type: 'string', short: 'c', multiple: true },
    top: { type: 'string' },
    window: { type: 'string' },
    'no-bos': { type: 'boolean' },
    'max-tokens': { type: 'string' },
    out: { type: 'string' },
    ...STORE_OPTION,
    json: { type: 'boolean' },
    batch: { type: 'string' },
    threads: { type: 'string' },
  },
  async run(values, positionals) {
    const target = values.target as string | undefined;
    if (target === undefined) throw new UsageError(`--target is required\n\n${usage}`);
    const corpus = [...((values.corpus as string[] | undefined) ?? []), ...positionals];
    if (corpus.length === 0) throw new UsageError(`name at least one --corpus file\n\n${usage}`);
    const n = (name: string, fallback: number) => numberOption(values, name, fallback, { usage, min: 1 });
    const top = n('top', d.top);
    const window = n('window', d.window);
    const batchSize = n('batch', d.batchSize);
    const maxTokens = values['max-tokens'] === undefined ? undefined : n('max-tokens', 0);
    const threads = threadsOption(values, usage);
    const out = values.out as string | undefined;
    if (out !== undefined) checkOutputFile('--out', out);
    corpus.forEach(corpusSize); // a missing corpus file named before the model loads
    const model = await loadModel((values.model as string | undefined) ?? DEFAULT_MODEL);
    const view = new ScanProgressView();
    const scan = await scanCorpus({
      model,
      target,
      corpus,
      top,
      window,
      batchSize,
      ...(values['no-bos'] === true && { bos: false }),
      ...(maxTokens !== undefined && { maxTokens }),
      ...(threads !== undefined && { threads }),
      onProgress: (p) => view.update(p),
    });
    view.update(
      {
        file: '',
        bytesRead: 1,
        totalBytes: 1,
        tokensScanned: scan.tokensScanned,
        ...(maxTokens !== undefined && { maxTokens }),
        windows: scan.windows,
        seconds: scan.seconds,
        best: scan.examples[0]?.activation,
      },
      true,
    );
    const db = cliStore(values, true);
    try {
      const id = saveScan(db, scan, await modelSha256(model.id));
      process.stderr.write(
        `scan ${id} in ${db.name} (--against ${id}, --init-from ${id}, compare --scan ${id})\n`,
      );
    } finally {
      db.close();
    }
    if (out !== undefined) {
      writeFileSync(`${out}.tmp`, `${JSON.stringify(scan, null, 1)}\n`);
      renameSync(`${out}.tmp`, out);
      process.stderr.write(`wrote ${out}\n`);
    }
    if (values.json) console.log(JSON.stringify(scan));
    else printScan(scan, (line) => console.log(line));
  },
};
