import { renameSync, writeFileSync } from 'node:fs';
import { corpusSize } from '../../data/corpus.ts';
import {
  DEFAULT_FEATURE_SCAN_OPTIONS,
  scanFeatures,
  type DocumentExample,
  type FeatureScanResult,
  type ScanContext,
} from '../../data/feature-scan.ts';
import { DEFAULT_SCAN_OPTIONS, scanCorpus, type ScanProgress, type ScanResult } from '../../data/scan.ts';
import { DEFAULT_MODEL } from '../../io/resolve.ts';
import { loadModel } from '../../models/load.ts';
import { FEATURE_SET_SYNTAX, isFeatureSetSpec } from '../../objectives/features.ts';
import { TARGET_SYNTAX } from '../../objectives/target.ts';
import type { Tokenizer } from '../../tokenizers/tokenizer.ts';
import { UsageError, type Command } from '../command.ts';
import { numberOption, threadsOption } from '../numbers.ts';
import { checkOutputFile } from '../paths.ts';
import { duration } from '../progress.ts';
import { cliStore, modelSha256, STORE_HELP, STORE_OPTION } from '../runs.ts';
import { saveFeatureScan } from '../../store/feature-scans.ts';
import { saveScan } from '../../store/results.ts';

const d = DEFAULT_SCAN_OPTIONS;

const f = DEFAULT_FEATURE_SCAN_OPTIONS;

const usage = `Usage: reverie scan [--model M] --target T --corpus FILE… [--top ${d.top}] [--window ${d.window}] [--out FILE]
       reverie scan --target 'HOOK[*]' --corpus FILE… [--context window|document] [--ctx ${f.ctx}] [--out FILE]

Finds the max-activating dataset examples of a target: streams the corpus files (plain text, documents
separated by blank lines; or JSONL with a "text" field per line), tokenizes each document and scores every
window of --window consecutive tokens at its last position (the target's position), with a BOS before the
window where the tokenizer adds one, as a dream. Keeps the --top distinct windows of highest activation, each
with its own cross-entropy as a standalone sequence. Progress on stderr; the examples on stdout.

A feature set (HOOK[*], HOOK[a:b], HOOK[i,j,k], sae:DIR[…]) is scanned in one pass: one forward per batch,
the --top examples of every feature and its statistics (max, mean, quantiles, the fraction positive, a
histogram). --context window (default) scores windows as above; --context document runs each document once
in chunks of up to --ctx tokens (BOS included) and reads every position: each example is a position, shown
with the tokens around it and the feature's activation at each.

Targets:
  ${TARGET_SYNTAX}
Feature sets:
  ${FEATURE_SET_SYNTAX}

Options:
  -m, --model M       path or hub id (default ${DEFAULT_MODEL})
  -t, --target T      the target spec, or a feature set
  -c, --corpus FILE   a corpus file; repeat for several (or list them after the options)
      --top K         examples to keep (per feature; default ${d.top})
      --window N      tokens per window: the dream's --seq-len (default ${d.window})
      --context C     window (default) or document: what a feature set's examples are (document: also a
                      single feature HOOK[N])
      --ctx N         document context: tokens per chunk, BOS included (default ${f.ctx})
      --no-bos        no BOS before the windows (as a dream with --no-bos) or the chunks
      --max-tokens N  stop after N tokens, within a document if need be (default: the whole corpus)
      --out FILE      write {model, target, window, bos, corpus, documents, tokensScanned, windows, seconds,
                      examples: [{text, ids, activation, xent, source: {file, document, token}}]}, highest
                      activation first; for a feature set {model, target, context, window | ctx, bos, corpus,
                      documents, tokensScanned, windows, seconds, features: [{target, index, stats, examples}]}
      --json          print that JSON on stdout instead of the table
      --batch N       windows (document context: chunks) per evaluation batch (default ${d.batchSize}; chunks:
                      ${f.documentBatchTokens} tokens' worth)
      --threads N     ONNX Runtime threads (default: all cores)
${STORE_HELP}

The scan is kept in the store too; its id stands for it wherever a scan is taken.`;

/** The share of a scan done: of the corpus's bytes, or of its token limit where that ends it sooner. */
function scanDone(p: ScanProgress): number {
  const bytes = p.totalBytes > 0 ? p.bytesRead / p.totalBytes : 1;
  return Math.min(1, Math.max(bytes, p.maxTokens ? p.tokensScanned / p.maxTokens : 0));
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
    context: { type: 'string' },
    ctx: { type: 'string' },
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
    const context = contextOption(values);
    const isSet = context === 'document' || isFeatureSetSpec(target);
    if (values.ctx !== undefined && context !== 'document')
      throw new UsageError(
        `--ctx is the chunk length of --context document, got it with --context ${context}\n\n${usage}`,
      );
    if (values.window !== undefined && context === 'document')
      throw new UsageError(`--window is for --context window; document context takes --ctx\n\n${usage}`);
    const n = (name: string, fallback: number) => numberOption(values, name, fallback, { usage, min: 1 });
    const top = n('top', d.top);
    const window = n('window', d.window);
    const batchSize =
      context === 'document' && values.batch === undefined ? undefined : n('batch', d.batchSize);
    const ctx = n('ctx', f.ctx);
    const maxTokens = values['max-tokens'] === undefined ? undefined : n('max-tokens', 0);
    const threads = threadsOption(values, usage);
    const out = values.out as string | undefined;
    if (out !== undefined) checkOutputFile('--out', out);
    corpus.forEach(corpusSize); // a missing corpus file named before the model loads
    const model = await loadModel((values.model as string | undefined) ?? DEFAULT_MODEL);
    const view = new ScanProgressView();
    const request = {
      model,
      target,
      corpus,
      top,
      ...(batchSize !== undefined && { batchSize }),
      ...(values['no-bos'] === true && { bos: false }),
      ...(maxTokens !== undefined && { maxTokens }),
      ...(threads !== undefined && { threads }),
      onProgress: (p: ScanProgress) => view.update(p),
    };
    const scan = isSet
      ? await scanFeatures({ ...request, context, ...(context === 'document' ? { ctx } : { window }) })
      : await scanCorpus({ ...request, window });
    const tops = ('features' in scan ? scan.features.map((x) => x.examples) : [scan.examples]).flatMap(
      (examples) => examples.slice(0, 1).map((e) => e.activation),
    );
    const best = tops.length > 0 ? tops.reduce((a, b) => Math.max(a, b)) : undefined;
    view.update(
      {
        file: '',
        bytesRead: 1,
        totalBytes: 1,
        tokensScanned: scan.tokensScanned,
        ...(maxTokens !== undefined && { maxTokens }),
        windows: scan.windows,
        seconds: scan.seconds,
        best,
      },
      true,
    );
    const db = cliStore(values, true);
    try {
      const sha256 = await modelSha256(model.id);
      if ('features' in scan) {
        const id = saveFeatureScan(db, scan, sha256);
        process.stderr.write(`feature scan ${id} in ${db.name}\n`);
      } else {
        const id = saveScan(db, scan, sha256);
        process.stderr.write(
          `scan ${id} in ${db.name} (--against ${id}, --init-from ${id}, compare --scan ${id})\n`,
        );
      }
    } finally {
      db.close();
    }
    if (out !== undefined) {
      writeFileSync(`${out}.tmp`, `${JSON.stringify(scan, null, 1)}\n`);
      renameSync(`${out}.tmp`, out);
      process.stderr.write(`wrote ${out}\n`);
    }
    const write = (line: string) => console.log(line);
    if (values.json) console.log(JSON.stringify(scan));
    else if ('features' in scan) printFeatureScan(scan, model.tokenizer as Tokenizer, write);
    else printScan(scan, write);
  },
};

function contextOption(values: Record<string, unknown>): ScanContext {
  const raw = values.context ?? 'window';
  if (raw !== 'window' && raw !== 'document')
    throw new UsageError(`--context must be window or document, got ${JSON.stringify(raw)}\n\n${usage}`);
  return raw;
}

/** A document example's text with its max token marked ⟦so⟧ (after the text where decoding apart splits a character). */
export function markedText(e: DocumentExample, tokenizer: Tokenizer): string {
  const before = tokenizer.decode(e.ids.slice(0, e.at));
  const through = tokenizer.decode(e.ids.slice(0, e.at + 1));
  if (through.startsWith(before) && e.text.startsWith(through) && !through.includes('\ufffd'))
    return `${before}⟦${through.slice(before.length)}⟧${e.text.slice(through.length)}`;
  return `${e.text} ⟦${tokenizer.decodeToken(e.ids[e.at] as number)}⟧`;
}

const clip = (text: string, width: number) => (text.length > width ? `${text.slice(0, width - 1)}…` : text);

/** One line per feature: its statistics and its top example. */
export function printFeatureScan(
  scan: FeatureScanResult,
  tokenizer: Tokenizer,
  write: (line: string) => void,
): void {
  const unit =
    scan.context === 'window'
      ? `${scan.windows.toLocaleString('en-US')} windows of ${scan.bos === null ? '' : 'BOS + '}${scan.window} tokens`
      : `${scan.windows.toLocaleString('en-US')} positions, chunks of ${scan.ctx} tokens${scan.bos === null ? '' : ' with BOS'}`;
  write(
    `${scan.features.length} features of ${scan.target} on ${scan.model} over ${scan.tokensScanned.toLocaleString('en-US')} tokens ` +
      `(${unit}, ${scan.seconds.toFixed(1)} s); top example of each${scan.context === 'document' ? ', its max token ⟦marked⟧' : ''}:`,
  );
  const num = (v: number | null | undefined) =>
    (v === null || v === undefined ? '—' : v.toFixed(3)).padStart(8);
  const q = (stats: FeatureScanResult['features'][number]['stats'], at: number) =>
    stats.quantiles.find((x) => x.q === at)?.value;
  write(
    `  ${'feature'.padEnd(8)} ${'max'.padStart(8)} ${'mean'.padStart(8)} ${'p50'.padStart(8)} ${'p99'.padStart(8)} ${'%pos'.padStart(6)}  top example`,
  );
  for (const feature of scan.features) {
    const { stats } = feature;
    const top = feature.examples[0];
    const text =
      top === undefined ? '—' : JSON.stringify('at' in top ? markedText(top, tokenizer) : top.text);
    write(
      `  ${String(feature.index).padEnd(8)} ${num(stats.max)} ${num(stats.mean)} ${num(q(stats, 0.5))} ${num(q(stats, 0.99))} ` +
        `${(stats.positive * 100).toFixed(1).padStart(6)}  ${clip(text, 72)}`,
    );
  }
}
