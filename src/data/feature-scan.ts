/**
 * The multi-feature scan: one pass over a corpus, one forward per batch, the top-k examples and the
 * statistics of every feature of a set (`HOOK[*]`, `HOOK[a:b]`, `HOOK[i,j]`, `sae:DIR[…]`).
 */
import { input, type Node } from '../graph/index.ts';
import { meanXent } from '../dream/engine/programs.ts';
import { promptKey } from '../dream/epo.ts';
import { lastLayerNeeded } from '../models/hooks.ts';
import { parseFeatureSet, type FeatureSet } from '../objectives/features.ts';
import { compile, type Session } from '../runtime/index.ts';
import { FeatureStatsAccumulator, type FeatureStats } from './feature-stats.ts';
import { TopK } from './heap.ts';
import {
  batchInput,
  CorpusPass,
  DEFAULT_SCAN_OPTIONS,
  scanBasics,
  ScanError,
  scoreWindows,
  windowLength,
  type PendingWindow,
  type ScanExample,
  type ScanRequest,
  type ScanResult,
  type ScanTotals,
} from './scan.ts';

export type ScanContext = 'window' | 'document';

export const DEFAULT_FEATURE_SCAN_OPTIONS = {
  context: 'window' as ScanContext,
  /** Document mode: tokens per chunk, BOS included. */
  ctx: 64,
  /** Document mode: chunks per run, as many tokens as a window-mode batch holds about. */
  documentBatchTokens: 4096,
  /** Document mode: tokens shown before and after an example's max token. */
  before: 24,
  after: 8,
} as const;

export interface FeatureScanRequest extends ScanRequest {
  /** A feature set (see parseFeatureSet). */
  target: string;
  /**
   * `window` (default): every window of `window` tokens, BOS + window as a dream, read at the set's position.
   * `document`: each document run once in chunks of up to `ctx` tokens, every position read.
   */
  context?: ScanContext;
  /** Document mode: tokens per chunk, BOS included (default 64). `batchSize` then counts chunks. */
  ctx?: number;
  /** The quantiles of each feature's statistics (default 0.5, 0.9, 0.99, 0.999). */
  quantiles?: readonly number[];
}

/** A max-activating position of a document (document mode), with the tokens around it. */
export interface DocumentExample {
  /** The text of `ids`. */
  text: string;
  /** The context shown: up to 24 tokens before the max token and 8 after, within its chunk (no BOS). */
  ids: number[];
  /** The feature's activation at each token of `ids`, for highlighting. */
  activations: number[];
  /** The index of the max token in `ids`. */
  at: number;
  activation: number;
  /** The file, the document's index in it and the max token's index in the document. */
  source: { file: string; document: number; token: number };
}

export interface FeatureScanFeature {
  /** Its single-feature target spec, e.g. blocks.2.mlp.hook_post[17]. */
  target: string;
  /** Its index in the hook (or SAE). */
  index: number;
  stats: FeatureStats;
  /** Highest activation first: windows (window mode) or document positions (document mode). */
  examples: ScanExample[] | DocumentExample[];
}

/** What `reverie scan --out` writes for a feature set. */
export interface FeatureScanResult extends ScanTotals {
  model: string;
  /** The set spec. */
  target: string;
  context: ScanContext;
  /** Window mode: tokens per window. */
  window?: number;
  /** Document mode: tokens per chunk, BOS included. */
  ctx?: number;
  features: FeatureScanFeature[];
}

/** A window-mode feature of a multi-feature scan as the plain single-feature scan (what --against, compare and sweeps read). */
export function featureScanResult(scan: FeatureScanResult, feature: number): ScanResult {
  if (scan.context !== 'window')
    throw new ScanError(
      `a ${scan.context}-context scan has no windows: only a window-context scan gives a feature's scan (${scan.target})`,
    );
  const f = scan.features[feature];
  if (!f)
    throw new ScanError(
      `feature ${feature} is out of range: the scan has features 0..${scan.features.length - 1}`,
    );
  const { model, bos, corpus, documents, tokensScanned, windows, seconds } = scan;
  return {
    model,
    target: f.target,
    window: scan.window as number,
    bos,
    corpus: [...corpus],
    documents,
    tokensScanned,
    windows,
    seconds,
    examples: f.examples as ScanExample[],
  };
}

interface Kept {
  activation: number;
  /** Arrival order, the tie-break. */
  order: number;
}
const better = (a: Kept, b: Kept): boolean =>
  a.activation > b.activation || (a.activation === b.activation && a.order < b.order);

/**
 * A TopK per feature, with each one's current worst activation in one typed array: a value at or below it
 * (or that ties it, arriving later) cannot enter, so most window × feature pairs cost one comparison.
 */
class Heaps<T extends Kept> {
  readonly heaps: TopK<T>[];
  readonly worst: Float32Array;

  constructor(features: number, top: number, key: (item: T) => string) {
    this.heaps = Array.from({ length: features }, () => new TopK<T>(top, better, key));
    this.worst = new Float32Array(features).fill(-Infinity);
  }

  push(f: number, item: T): void {
    const heap = this.heaps[f] as TopK<T>;
    heap.push(item);
    if (heap.size >= heap.k) this.worst[f] = (heap.worst as T).activation;
  }
}

/**
 * Scans a corpus for every feature of a set in one pass (see FeatureScanRequest): one forward per batch, a
 * heap per feature, streaming statistics. Memory holds one batch, one document and the heaps. In window mode
 * each feature's examples are what scanCorpus gives for its single-feature target (same windows, BOS, order
 * and xent).
 */
export async function scanFeatures(request: FeatureScanRequest): Promise<FeatureScanResult> {
  const context = request.context ?? DEFAULT_FEATURE_SCAN_OPTIONS.context;
  if (context !== 'window' && context !== 'document')
    throw new ScanError(`context must be "window" or "document", got ${JSON.stringify(context)}`);
  return context === 'window' ? scanWindows(request) : scanDocuments(request);
}

function compileOutputs(outputs: Record<string, Node>, threads: number | undefined): Promise<Session> {
  return compile({ outputs, ...(threads && { threads }) });
}

async function scanWindows(request: FeatureScanRequest): Promise<FeatureScanResult> {
  const { model } = request;
  const { tokenizer, batchSize, top, bos, prefix } = scanBasics(request);
  const window = request.window ?? DEFAULT_SCAN_OPTIONS.window;
  const length = windowLength(model, window, prefix);
  const pass = new CorpusPass(request, tokenizer);
  const set = parseFeatureSet(request.target, { model, seqLen: length });
  const F = set.indices.length;

  const ids = input('ids', 'int64', ['B', length]);
  const result = model.build({ tokens: ids, hooks: set.hooks });
  // values [B,F] of the features at the set's position, xent [B] as the fitness program's
  const session = await compileOutputs(
    { values: set.values({ hooks: result.hooks }), xent: meanXent(result, ids, model.config.vocabSize) },
    request.threads,
  );

  // A window's key (its ids, as scanCorpus dedups them), made once for all the heaps it enters.
  type Entry = Kept & { window: PendingWindow & { key?: string }; xent: number };
  const heaps = new Heaps<Entry>(F, top, (e) => (e.window.key ??= promptKey(e.window.ids)));
  const stats = new FeatureStatsAccumulator(F);
  const { worst } = heaps;
  await scoreWindows(pass, session, { window, batchSize, prefix, length }, (batch, out) => {
    const values = out.values?.data as Float32Array;
    const xent = out.xent?.data as Float32Array;
    stats.add(values, batch.length);
    for (let b = 0; b < batch.length; b++) {
      const row = b * F;
      for (let f = 0; f < F; f++) {
        const v = values[row + f] as number;
        if (v > (worst[f] as number)) {
          const w = batch[b] as PendingWindow;
          heaps.push(f, { activation: v, order: w.order, window: w, xent: xent[b] as number });
          pass.offer(v);
        }
      }
    }
  });
  return {
    ...header(request, set, pass, 'window', bos),
    window,
    features: features(set, stats, heaps, request.quantiles, ({ window: w, activation, xent }) => ({
      text: tokenizer.decode(w.ids),
      ids: w.ids,
      activation,
      xent,
      source: w.source,
    })),
  };
}

/** A chunk of a document: up to ctx − BOS tokens of it, and where it starts. */
interface Chunk {
  ids: number[];
  file: string;
  document: number;
  /** Its first token's index in the document. */
  start: number;
}

/** Every document in chunks of `size` tokens (the last of a document may be shorter), `batchSize` chunks per batch. */
async function* chunkBatches(pass: CorpusPass, size: number, batchSize: number): AsyncGenerator<Chunk[]> {
  let pending: Chunk[] = [];
  for await (const { file, document, ids } of pass.read()) {
    for (let start = 0; start < ids.length; start += size) {
      pending.push({ ids: ids.slice(start, start + size), file, document, start });
      if (pending.length >= batchSize) {
        yield pending;
        pending = [];
      }
    }
  }
  if (pending.length > 0) yield pending;
}

async function scanDocuments(request: FeatureScanRequest): Promise<FeatureScanResult> {
  const { model } = request;
  const { tokenizer, top, bos, prefix } = scanBasics(request);
  const d = DEFAULT_FEATURE_SCAN_OPTIONS;
  const ctx = request.ctx ?? d.ctx;
  if (!Number.isInteger(ctx) || ctx < prefix.length + 1)
    throw new ScanError(
      `ctx must be an integer ≥ ${prefix.length + 1} (tokens per chunk${prefix.length ? ', BOS included' : ''}), got ${ctx}`,
    );
  if (ctx > model.config.maxPositions)
    throw new ScanError(
      `a chunk of ${ctx} tokens exceeds the model's ${model.config.maxPositions} positions`,
    );
  const batchSize = request.batchSize ?? Math.max(1, Math.floor(d.documentBatchTokens / ctx));
  const pass = new CorpusPass(request, tokenizer);
  const set = parseFeatureSet(request.target, { model, seqLen: ctx });
  if (set.position !== undefined)
    throw new ScanError(
      `${set.spec}: document context reads every position; a set with @P is for window context`,
    );
  const F = set.indices.length;

  const ids = input('ids', 'int64', ['B', ctx]);
  const stopAfterLayer = lastLayerNeeded(set.hooks, model.hookSpec);
  const { hooks } = model.build({
    tokens: ids,
    hooks: set.hooks,
    ...(stopAfterLayer !== undefined && { stopAfterLayer }),
  });
  const session = await compileOutputs({ values: set.valuesAtAllPositions({ hooks }) }, request.threads); // [B,T,F]

  type Entry = Kept & Omit<DocumentExample, 'text' | 'activation'>;
  const heaps = new Heaps<Entry>(F, top, (e) => String(e.order));
  const stats = new FeatureStatsAccumulator(F);
  const { worst } = heaps;
  const P = prefix.length;
  pass.startClock();
  try {
    for await (const batch of chunkBatches(pass, ctx - P, batchSize)) {
      const out = await session.run({
        ids: batchInput(
          batch.map((c) => c.ids),
          prefix,
          ctx,
          bos ?? 0,
        ),
      });
      const values = out.values?.data as Float32Array; // [n,ctx,F]: BOS, the chunk, then padding
      for (const [c, chunk] of batch.entries()) {
        const n = chunk.ids.length;
        const first = (c * ctx + P) * F; // the chunk's first token
        stats.add(values, n, first);
        for (let t = 0; t < n; t++) {
          const row = first + t * F;
          for (let f = 0; f < F; f++) {
            const v = values[row + f] as number;
            if (v > (worst[f] as number)) {
              heaps.push(f, shown(chunk, t, f, v, values, first, F, pass.windows + t));
              pass.offer(v);
            }
          }
        }
        pass.windows += n;
      }
      pass.progress();
    }
  } finally {
    await session.dispose();
  }
  pass.progress();
  return {
    ...header(request, set, pass, 'document', bos),
    ctx,
    features: features(set, stats, heaps, request.quantiles, (e) => ({
      text: tokenizer.decode(e.ids),
      ids: e.ids,
      activations: e.activations,
      at: e.at,
      activation: e.activation,
      source: e.source,
    })),
  };
}

/** Position t of a chunk as an example of feature f: the tokens around it and f's activation at each. */
function shown(
  chunk: Chunk,
  t: number,
  f: number,
  activation: number,
  values: Float32Array,
  first: number,
  F: number,
  order: number,
): Kept & Omit<DocumentExample, 'text' | 'activation'> {
  const { before, after } = DEFAULT_FEATURE_SCAN_OPTIONS;
  const from = Math.max(0, t - before);
  const to = Math.min(chunk.ids.length, t + after + 1);
  const activations: number[] = [];
  for (let i = from; i < to; i++) activations.push(values[first + i * F + f] as number);
  return {
    activation,
    order,
    ids: chunk.ids.slice(from, to),
    activations,
    at: t - from,
    source: { file: chunk.file, document: chunk.document, token: chunk.start + t },
  };
}

function header(
  request: FeatureScanRequest,
  set: FeatureSet,
  pass: CorpusPass,
  context: ScanContext,
  bos: number | null,
): Omit<FeatureScanResult, 'features'> {
  return {
    model: request.model.id,
    target: set.spec,
    context,
    ...pass.totals(bos),
  };
}

function features<T extends Kept, E extends ScanExample | DocumentExample>(
  set: FeatureSet,
  stats: FeatureStatsAccumulator,
  heaps: Heaps<T>,
  quantiles: readonly number[] | undefined,
  example: (entry: T) => E,
): FeatureScanFeature[] {
  return set.indices.map((index, f) => ({
    target: set.targets[f] as string,
    index,
    stats: stats.stats(f, quantiles),
    examples: (heaps.heaps[f] as TopK<T>).sorted().map(example) as ScanExample[] | DocumentExample[],
  }));
}
