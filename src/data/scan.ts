import { fitnessProgram } from '../dream/engine/programs.ts';
import { promptKey } from '../dream/epo.ts';
import type { Model } from '../models/model.ts';
import { parseTarget } from '../objectives/target.ts';
import type { Tokenizer } from '../tokenizers/tokenizer.ts';
import { compile, type HostTensor, type Session } from '../runtime/index.ts';
import { corpusSize, readDocuments, type CorpusFormat } from './corpus.ts';
import { TopK } from './heap.ts';

/** A scan that cannot run as asked (no tokenizer, no BOS, a window the model cannot hold). */
export class ScanError extends Error {
  override name = 'ScanError';
}

export const DEFAULT_SCAN_OPTIONS = { window: 12, top: 64, batchSize: 256 } as const;

export interface ScanRequest {
  model: Model;
  /** The target spec (the dream's), evaluated at its position within BOS + window. */
  target: string;
  /** Corpus files: plain text (documents separated by blank lines) or JSONL with a `text` field. */
  corpus: readonly string[];
  /** Tokens per window: the dream's sequence length, so examples and dreams compare like for like. */
  window?: number;
  /** How many examples to keep. */
  top?: number;
  /** A BOS before each window (default: where the tokenizer adds one, as a dream). */
  bos?: boolean;
  /** Windows per run of the compiled program. */
  batchSize?: number;
  threads?: number;
  /** Stop after this many tokens, within a document where it holds more (the limit, not the whole, is tokenized). */
  maxTokens?: number;
  /** Force a corpus format instead of detecting it per file. */
  format?: CorpusFormat;
  onProgress?: (progress: ScanProgress) => void;
}

export interface ScanProgress {
  file: string;
  /** Bytes of all corpus files read so far, and their total. */
  bytesRead: number;
  totalBytes: number;
  tokensScanned: number;
  /** The request's maxTokens, where one is set. */
  maxTokens?: number;
  windows: number;
  seconds: number;
  /** The best activation so far. */
  best: number | undefined;
}

/** A max-activating dataset example: a window of the corpus with its activation and its own xent. */
export interface ScanExample {
  text: string;
  /** The window's tokens, without the BOS. */
  ids: number[];
  /** The target at the window's target position (the last by default), BOS + window as the sequence. */
  activation: number;
  /** Mean next-token cross-entropy of the window as a standalone sequence (over every token after BOS). */
  xent: number;
  /** Where it was found: the file, the document's index in it and the window's first token in the document. */
  source: { file: string; document: number; token: number };
}

/** What every scan reports of its pass over the corpus. */
export interface ScanTotals {
  /** The BOS id before each window (or chunk), or null. */
  bos: number | null;
  corpus: string[];
  documents: number;
  tokensScanned: number;
  /** Windows scored (positions read, in document context). */
  windows: number;
  seconds: number;
}

/** What `reverie scan --out` writes. */
export interface ScanResult extends ScanTotals {
  model: string;
  target: string;
  window: number;
  /** Highest activation first. */
  examples: ScanExample[];
}

interface Scored {
  ids: number[];
  activation: number;
  xent: number;
  /** Arrival order, the tie-break. */
  order: number;
  source: ScanExample['source'];
}

const better = (a: Scored, b: Scored): boolean =>
  a.activation > b.activation || (a.activation === b.activation && a.order < b.order);

/**
 * The first `limit` tokens of a text, tokenizing no more of it than that takes: prefixes of doubling length, cut
 * before a space, until one has more than `limit` tokens. A prefix cut before a space has the text's own first
 * tokens: no token spans a space and what follows it (byte-level BPE's pre-tokenizer splits before spaces, and
 * SentencePiece's pieces only start with one).
 */
function encodeAtMost(tokenizer: Tokenizer, text: string, limit: number): number[] {
  for (let chars = Math.max(64, 4 * limit); chars < text.length; chars *= 2) {
    const cut = text.lastIndexOf(' ', chars);
    const ids = tokenizer.encode(text.slice(0, cut > 0 ? cut : chars), { bos: false });
    if (ids.length > limit) return ids.slice(0, limit);
  }
  return tokenizer.encode(text, { bos: false }).slice(0, limit);
}

/** What every scan checks before it starts: a tokenizer, a batch size, the BOS policy and a corpus. */
export function scanBasics(request: Omit<ScanRequest, 'target'>): {
  tokenizer: Tokenizer;
  batchSize: number;
  top: number;
  bos: number | null;
  prefix: number[];
} {
  const { model } = request;
  const tokenizer = model.tokenizer;
  if (!tokenizer) throw new ScanError(`model ${model.id} has no tokenizer to read a corpus with`);
  const batchSize = request.batchSize ?? DEFAULT_SCAN_OPTIONS.batchSize;
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new ScanError(`batch size must be ≥ 1, got ${batchSize}`);
  let bos: number | null = null;
  if (request.bos ?? tokenizer.addsBosByDefault) {
    if (tokenizer.bosId === undefined) throw new ScanError(`model ${model.id} has no BOS token`);
    bos = tokenizer.bosId;
  }
  if (request.corpus.length === 0) throw new ScanError('no corpus file given');
  return {
    tokenizer,
    batchSize,
    top: request.top ?? DEFAULT_SCAN_OPTIONS.top,
    bos,
    prefix: bos === null ? [] : [bos],
  };
}

/** The window length of a scan in window mode (BOS + window), checked against the model. */
export function windowLength(model: Model, window: number, prefix: readonly number[]): number {
  if (!Number.isInteger(window) || window < 1) throw new ScanError(`window must be ≥ 1 token, got ${window}`);
  const length = window + prefix.length;
  if (length > model.config.maxPositions)
    throw new ScanError(`a window of ${length} tokens exceeds the model's ${model.config.maxPositions}`);
  return length;
}

/** A document of the corpus, tokenized (without BOS), and where it is. */
export interface CorpusDocumentIds {
  file: string;
  /** Its index in the file. */
  document: number;
  ids: number[];
}

/**
 * One pass over a scan's corpus: streams the files' documents, tokenized up to the token limit, and keeps
 * the counts that progress reports (the consumer adds its windows and its best activation).
 */
export class CorpusPass {
  private started = performance.now();
  tokensScanned = 0;
  documents = 0;
  windows = 0;
  best: number | undefined;
  private file = '';
  private bytesBefore = 0;
  private bytesRead = 0;
  private readonly sizes: number[];
  private readonly totalBytes: number;

  constructor(
    private readonly request: Pick<ScanRequest, 'corpus' | 'maxTokens' | 'format' | 'onProgress'>,
    private readonly tokenizer: Tokenizer,
  ) {
    this.sizes = request.corpus.map(corpusSize);
    this.totalBytes = this.sizes.reduce((a, b) => a + b, 0);
  }

  /** Starts the clock (again): a scan's seconds count from when its program is ready. */
  startClock(): void {
    this.started = performance.now();
  }

  get seconds(): number {
    return (performance.now() - this.started) / 1000;
  }

  /** The pass's totals, as every scan reports them. */
  totals(bos: number | null): ScanTotals {
    return {
      bos,
      corpus: [...this.request.corpus],
      documents: this.documents,
      tokensScanned: this.tokensScanned,
      windows: this.windows,
      seconds: this.seconds,
    };
  }

  /** Offers an activation for `best`. */
  offer(activation: number): void {
    if (this.best === undefined || activation > this.best) this.best = activation;
  }

  progress(): void {
    const { maxTokens, onProgress } = this.request;
    onProgress?.({
      file: this.file,
      bytesRead: this.bytesBefore + this.bytesRead,
      totalBytes: this.totalBytes,
      tokensScanned: this.tokensScanned,
      ...(maxTokens !== undefined && { maxTokens }),
      windows: this.windows,
      seconds: this.seconds,
      best: this.best,
    });
  }

  /** The documents, each tokenized; it stops after the document that reaches the token limit. */
  async *read(): AsyncGenerator<CorpusDocumentIds> {
    const limit = this.request.maxTokens ?? Infinity;
    for (const [f, path] of this.request.corpus.entries()) {
      this.file = path;
      this.bytesRead = 0;
      let document = 0;
      for await (const doc of readDocuments(path, this.request.format)) {
        this.bytesRead = doc.bytesRead;
        const ids = encodeAtMost(this.tokenizer, doc.text, limit - this.tokensScanned);
        this.tokensScanned += ids.length;
        yield { file: path, document, ids };
        document++;
        this.documents++;
        if (this.tokensScanned >= limit) return;
      }
      this.bytesBefore += this.sizes[f] as number;
      this.bytesRead = 0;
    }
  }
}

/** A window of a document, waiting for its batch. */
export interface PendingWindow {
  /** The window's tokens, without the BOS. */
  ids: number[];
  /** Arrival order, the tie-break. */
  order: number;
  source: ScanExample['source'];
}

/** Every window of `window` consecutive tokens of every document, in batches of `batchSize` (the last may be short). */
export async function* windowBatches(
  pass: CorpusPass,
  window: number,
  batchSize: number,
): AsyncGenerator<PendingWindow[]> {
  let pending: PendingWindow[] = [];
  let order = 0;
  for await (const { file, document, ids } of pass.read()) {
    for (let start = 0; start + window <= ids.length; start++) {
      pending.push({
        ids: ids.slice(start, start + window),
        order: order++,
        source: { file, document, token: start },
      });
      if (pending.length >= batchSize) {
        yield pending;
        pending = [];
      }
    }
  }
  if (pending.length > 0) yield pending;
}

/** The program's int64 input [n, length] for a batch of token rows, each after `prefix` and right-padded with `pad`. */
export function batchInput(
  rows: readonly (readonly number[])[],
  prefix: readonly number[],
  length: number,
  pad = 0,
): { dtype: 'int64'; shape: number[]; data: BigInt64Array } {
  const data = new BigInt64Array(rows.length * length).fill(BigInt(pad));
  rows.forEach((ids, b) => {
    prefix.forEach((id, t) => (data[b * length + t] = BigInt(id)));
    ids.forEach((id, t) => (data[b * length + prefix.length + t] = BigInt(id)));
  });
  return { dtype: 'int64', shape: [rows.length, length], data };
}

/**
 * Runs every window of the pass through `session` in batches (BOS + window, as `batchInput` lays them out),
 * hands each batch and its outputs to `each`, counts the windows and reports progress; the session is
 * disposed at the end, whatever happens. The pass's clock starts here.
 */
export async function scoreWindows(
  pass: CorpusPass,
  session: Session,
  shape: { window: number; batchSize: number; prefix: readonly number[]; length: number },
  each: (batch: PendingWindow[], out: Record<string, HostTensor>) => void,
): Promise<void> {
  pass.startClock();
  try {
    for await (const batch of windowBatches(pass, shape.window, shape.batchSize)) {
      const rows = batch.map((w) => w.ids);
      each(batch, await session.run({ ids: batchInput(rows, shape.prefix, shape.length) }));
      pass.windows += batch.length;
      pass.progress();
    }
  } finally {
    await session.dispose();
  }
  pass.progress();
}

/**
 * Streams corpus files, tokenizes each document and scores every window of `window` consecutive tokens of a
 * document (BOS + window where the tokenizer adds a BOS, as a dream) with the fitness program, in batches; a
 * heap keeps the `top` distinct windows of highest activation. Memory holds one document and one batch.
 */
export async function scanCorpus(request: ScanRequest): Promise<ScanResult> {
  const { model } = request;
  const { tokenizer, batchSize, top, bos, prefix } = scanBasics(request);
  const window = request.window ?? DEFAULT_SCAN_OPTIONS.window;
  const length = windowLength(model, window, prefix);
  const pass = new CorpusPass(request, tokenizer);

  const target = parseTarget(request.target, {
    model,
    seqLen: length,
  });
  const session: Session = await compile({
    outputs: fitnessProgram(model, target, { length, fixedPrefix: prefix.length, topk: 1, banned: [] }),
    ...(request.threads && { threads: request.threads }),
  });

  const heap = new TopK<Scored>(top, better, (s) => promptKey(s.ids));
  await scoreWindows(pass, session, { window, batchSize, prefix, length }, (batch, out) => {
    const activation = out.target?.data as Float32Array;
    const xent = out.xent?.data as Float32Array;
    batch.forEach((w, b) => {
      const a = activation[b] as number;
      heap.push({ ...w, activation: a, xent: xent[b] as number });
      pass.offer(a);
    });
  });
  return {
    model: model.id,
    target: target.spec,
    window,
    ...pass.totals(bos),
    examples: heap.sorted().map(({ ids, activation, xent, source }) => ({
      text: tokenizer.decode(ids),
      ids,
      activation,
      xent,
      source,
    })),
  };
}
