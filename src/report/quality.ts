/**
 * Dream quality against the dataset, the paper's central claim measured: for a target, the top dataset
 * examples of a corpus (scanned once and cached), then a dream; the dream wins where some candidate it
 * evaluated is at least as fluent as the median top example (xent ≤ their median) and out-activates the best
 * one. `npm run bench -- quality` runs it over a development set of stories260K neurons.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { scanCorpus, type ScanResult } from '../data/scan.ts';
import type { IterationRecord } from '../dream/epo.ts';
import type { EpoOptions } from '../dream/options.ts';
import { dream } from '../dream/run.ts';
import { MemorySink } from '../dream/memory-sink.ts';
import type { Model } from '../models/model.ts';
import { median } from './stats.ts';

const fmt = (v: number): string => v.toFixed(3);
const signed = (v: number): string => `${v >= 0 ? '+' : ''}${fmt(v)}`;

/** What a dream is measured against: the top dataset examples of the target. */
export interface DatasetBaseline {
  /** The best example's activation. */
  topActivation: number;
  /** The median cross-entropy of the top examples. */
  medianXent: number;
  examples: number;
}

/**
 * The paper's comparison as a run goes (`reverie dream --against SCAN`): the best activation so far among
 * the candidates at or below the scan's median cross-entropy, against the top dataset example's activation,
 * with the median and the top as `reverie compare` computes them.
 */
export class VersusDataset {
  /** The best activation seen at xent ≤ medianXent; undefined until a candidate is that fluent. */
  best: number | undefined;
  constructor(
    readonly medianXent: number,
    readonly topActivation: number,
  ) {}

  static of(scan: ScanResult): VersusDataset {
    return new VersusDataset(
      median(scan.examples.map((e) => e.xent)),
      scan.examples.reduce((top, e) => Math.max(top, e.activation), -Infinity),
    );
  }

  observe(points: readonly { target: number; xent: number }[]): void {
    for (const p of points)
      if (p.xent <= this.medianXent && (this.best === undefined || p.target > this.best))
        this.best = p.target;
  }

  /** `vs dataset: best ≤ median xent 3.676: 2.310 (top example 5.247, -2.937)`. */
  text(): string {
    const head = `vs dataset: best ≤ median xent ${fmt(this.medianXent)}: `;
    const top = `top example ${fmt(this.topActivation)}`;
    return this.best === undefined
      ? `${head}— (${top})`
      : `${head}${fmt(this.best)} (${top}, ${signed(this.best - this.topActivation)})`;
  }
}

export interface QualityRequest {
  model: Model;
  /** sha256 of the model's weights: part of the scan cache's key. */
  modelSha256: string;
  target: string;
  corpus: readonly string[];
  /** Tokens per window, and the dream's sequence length (default 12). */
  window?: number;
  /** Examples kept (default 64). */
  top?: number;
  /** The dream's options (seed, preset, …); seqLen is the window. */
  options?: Partial<EpoOptions>;
  /** Where scans are cached (default $REVERIE_CACHE/scans, else ~/.cache/reverie/scans). */
  cacheDir?: string;
}

export interface QualityResult extends DatasetBaseline {
  target: string;
  seed: number;
  /** The best activation among every candidate the dream evaluated with xent ≤ medianXent, or null. */
  bestDream: number | null;
  /** bestDream − topActivation (−Infinity where no candidate was that fluent). */
  margin: number;
  /** Wall seconds of the dream (compiling its programs included), and its iterations. */
  seconds: number;
  iterations: number;
  /** Seconds of iterations until a candidate first beat the top example at xent ≤ medianXent, or null. */
  secondsToWin: number | null;
}

const cacheRoot = () => process.env.REVERIE_CACHE ?? join(homedir(), '.cache', 'reverie');

/** The top examples of `target` on the corpus, scanned once per model, corpus, target, window and size. */
export async function datasetBaseline(
  request: QualityRequest,
): Promise<DatasetBaseline & { scan: ScanResult }> {
  const window = request.window ?? 12;
  const top = request.top ?? 64;
  const corpus = request.corpus.map((file) => resolve(file));
  const key = createHash('sha256')
    .update(
      JSON.stringify({
        model: request.modelSha256,
        corpus: corpus.map((file) => [file, statSync(file).size, statSync(file).mtimeMs]),
        target: request.target,
        window,
        top,
      }),
    )
    .digest('hex')
    .slice(0, 24);
  const dir = request.cacheDir ?? join(cacheRoot(), 'scans');
  const path = join(dir, `${key}.json`);
  let scan: ScanResult;
  if (existsSync(path)) scan = JSON.parse(readFileSync(path, 'utf8')) as ScanResult;
  else {
    scan = await scanCorpus({ model: request.model, target: request.target, corpus, window, top });
    mkdirSync(dir, { recursive: true });
    writeFileSync(`${path}.tmp`, JSON.stringify(scan));
    renameSync(`${path}.tmp`, path);
  }
  const { topActivation, medianXent } = VersusDataset.of(scan);
  return { scan, topActivation, medianXent, examples: scan.examples.length };
}

/** The best fluent activation of a run's history, and when it first beat `top`. */
export function fluentBest(
  history: readonly IterationRecord[],
  maxXent: number,
  top: number,
): { best: number | null; secondsToWin: number | null } {
  const versus = new VersusDataset(maxXent, top);
  let secondsToWin: number | null = null;
  let elapsed = 0;
  for (const record of history) {
    elapsed += record.seconds;
    versus.observe(record.candidates);
    if (secondsToWin === null && versus.best !== undefined && versus.best > top) secondsToWin = elapsed;
  }
  return { best: versus.best ?? null, secondsToWin };
}

/** A dream of the target at the given options, measured against its dataset baseline. */
export async function measureQuality(request: QualityRequest): Promise<QualityResult> {
  const baseline = await datasetBaseline(request);
  const sink = new MemorySink();
  const started = performance.now();
  const summary = await dream({
    model: request.model,
    modelSha256: request.modelSha256,
    target: request.target,
    options: { ...request.options, seqLen: request.window ?? 12 },
    sink,
  });
  const seconds = (performance.now() - started) / 1000;
  const { best, secondsToWin } = fluentBest(sink.history, baseline.medianXent, baseline.topActivation);
  return {
    target: request.target,
    seed: summary.seed,
    topActivation: baseline.topActivation,
    medianXent: baseline.medianXent,
    examples: baseline.examples,
    bestDream: best,
    margin: best === null ? -Infinity : best - baseline.topActivation,
    seconds,
    iterations: summary.iterations,
    secondsToWin,
  };
}

/** The penalties of the scalarized frontier score. */
export const SCORE_PENALTIES: readonly number[] = [0.25, 0.5, 1, 2];

/** The frontier's scalarized score: the mean over λ of the best target − λ·xent among the candidates. */
export function frontierScore(
  candidates: readonly { target: number; xent: number }[],
  penalties: readonly number[] = SCORE_PENALTIES,
): number {
  const best = penalties.map((l) => Math.max(...candidates.map((c) => c.target - l * c.xent)));
  return best.reduce((s, b) => s + b, 0) / best.length;
}

/** The score of a run's candidates after each iteration, with the seconds of iterations until then. */
export function scoreTrace(history: readonly IterationRecord[]): { seconds: number; score: number }[] {
  const best = SCORE_PENALTIES.map(() => -Infinity);
  let seconds = 0;
  return history.map((record) => {
    seconds += record.seconds;
    for (const c of record.candidates)
      SCORE_PENALTIES.forEach((l, i) => (best[i] = Math.max(best[i] as number, c.target - l * c.xent)));
    return { seconds, score: best.reduce((s, b) => s + b, 0) / best.length };
  });
}

export interface SpeedResult {
  target: string;
  seed: number;
  /** The reference run's (`reference` options: by default the dreamy preset, 300 iterations) final score. */
  referenceScore: number;
  /** Seconds of its iterations. */
  referenceSeconds: number;
  /** Seconds of iterations until the run at `options` first reached referenceScore, or null. */
  secondsToReference: number | null;
  /** Its final score and seconds. */
  score: number;
  seconds: number;
}

/** How much sooner a run at `options` reaches the score a reference run ends with (same target and seed). */
export async function timeToReference(request: {
  model: Model;
  modelSha256: string;
  target: string;
  seed: number;
  options?: Partial<EpoOptions>;
  reference?: Partial<EpoOptions>;
}): Promise<SpeedResult> {
  const trace = async (options: Partial<EpoOptions>) => {
    const sink = new MemorySink();
    await dream({
      model: request.model,
      modelSha256: request.modelSha256,
      target: request.target,
      options: { ...options, seed: request.seed },
      sink,
    });
    return scoreTrace(sink.history);
  };
  const reference = await trace(request.reference ?? { preset: 'dreamy', iters: 300 });
  const run = await trace(request.options ?? {});
  const goal = (reference.at(-1) as { score: number }).score;
  const last = run.at(-1) as { seconds: number; score: number };
  return {
    target: request.target,
    seed: request.seed,
    referenceScore: goal,
    referenceSeconds: (reference.at(-1) as { seconds: number }).seconds,
    secondsToReference: run.find((p) => p.score >= goal)?.seconds ?? null,
    score: last.score,
    seconds: last.seconds,
  };
}
