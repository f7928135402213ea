/**
 * A feature's page, Neuronpedia-style: everything the store holds of one feature of one model — the paper's
 * figure (its dataset examples against the dreams' frontiers, as `reverie compare` prepares it), the sweep's
 * result, the top dreams with their attributions, the top dataset examples token by token, the activation
 * histogram and each run's frontier over its iterations.
 */
import { featureScanResult, type DocumentExample, type FeatureScanFeature } from '../../data/feature-scan.ts';
import type { ScanExample, ScanResult } from '../../data/scan.ts';
import type { Attribution } from '../../dream/attribution.ts';
import { promptKey } from '../../dream/epo.ts';
import type { RunSummary } from '../../dream/records.ts';
import { compare } from '../../report/compare.ts';
import { FIGURE_COLORS, RUN_COLORS, runColors, type FigurePoint } from '../../report/figure.ts';
import { median } from '../../report/stats.ts';
import type { Db } from '../../store/database.ts';
import { loadFeatureScanFeature } from '../../store/feature-scans.ts';
import { loadAttribution, loadScan } from '../../store/results.ts';
import { findRun, rebuiltSummary, storedSummary } from '../../store/runs.ts';
import { findSweep, sweepFeature } from '../../store/sweeps.ts';
import { NotFoundError } from '../errors.ts';
import { featureHolders, featureScanHeader, sweepOfRuns } from '../lookup.ts';
import { runProgress } from '../progress.ts';
import type { TextCache, Texts } from '../texts.ts';
import type { AttributionView, DreamView, ExampleView, FeatureView, RunInfo } from '../types.ts';
import { featureOf, featureUrl, scanUrl, sweepUrl } from '../urls.ts';
import { runInfo, type JobsView } from './info.ts';

/** Runs drawn in the figure (newest first), dreams and attributions listed. */
const FIGURE_RUNS = 8;
const TOP_DREAMS = 12;
const ATTRIBUTIONS = 24;

export interface FeatureChoice {
  sweep?: number;
  scan?: number;
}

interface ScanFeature {
  id: number;
  context: 'window' | 'document';
  feature: FeatureScanFeature;
  scan: ScanResult | undefined;
}

/** The activation is read at the last token of a window, or at its `@P` where that counts from the end. */
function readPosition(target: string, length: number): number {
  const at = /@(-?\d+)$/.exec(target)?.[1];
  if (at === undefined) return length - 1;
  const p = Number(at);
  return p < 0 ? length + p : -1;
}

function windowExample(e: ScanExample, texts: Texts, target: string): ExampleView {
  const at = readPosition(target, e.ids.length);
  return {
    text: e.text,
    activation: e.activation,
    xent: e.xent,
    tokens: e.ids.map((id, i) => ({ text: texts.token(id), value: i === at ? e.activation : 0 })),
    at,
    source: e.source ? `${e.source.file} · document ${e.source.document} · token ${e.source.token}` : null,
  };
}

function documentExample(e: DocumentExample, texts: Texts): ExampleView {
  return {
    text: e.text,
    activation: e.activation,
    xent: null,
    tokens: e.ids.map((id, i) => ({ text: texts.token(id), value: e.activations[i] ?? 0 })),
    at: e.at,
    source: `${e.source.file} · document ${e.source.document} · token ${e.source.token}`,
  };
}

/** The figure's points where there is no comparison: a scan's examples alone, or runs alone. */
const datasetPoints = (scan: ScanResult | undefined): FigurePoint[] =>
  (scan?.examples ?? []).map((e) => ({
    kind: 'dataset',
    xent: e.xent,
    activation: e.activation,
    text: e.text,
  }));

const dreamPoints = (runs: readonly { label: string; summary: RunSummary }[]): FigurePoint[] =>
  runs.flatMap(({ label, summary }) =>
    summary.frontier.map((p) => ({
      kind: 'dream',
      xent: p.xent,
      activation: p.target,
      text: p.text,
      source: label,
    })),
  );

/** An attribution without its every swap: the page shows the worst and top-3 of each position. */
const withoutSwaps = (a: Attribution): AttributionView => ({
  ...a,
  positions: a.positions.map(({ replacements: _, ...p }) => p),
});

const maybe = <T, U>(value: T | undefined, f: (value: T) => U): U | undefined =>
  value === undefined ? undefined : f(value);

/** One feature of a multi-feature scan; for a window-context scan also as the plain scan `compare` takes. */
function scanFeature(db: Db, s: { id: number; rank: number }): ScanFeature {
  const header = featureScanHeader(db, s.id);
  const feature = loadFeatureScanFeature(db, s.id, s.rank);
  const scan =
    header.context === 'window' ? featureScanResult({ ...header, features: [feature] }, 0) : undefined;
  return { id: s.id, context: header.context, feature, scan };
}

export async function featureView(
  db: Db,
  textCache: TextCache,
  jobs: JobsView,
  model: string,
  target: string,
  choice: FeatureChoice = {},
): Promise<FeatureView> {
  const holders = featureHolders(db, model, target);
  const { sweeps, featureScans, runs, scans, attributions } = holders;
  if (sweeps.length + featureScans.length + runs.length + scans.length === 0)
    throw new NotFoundError(`no sweep, scan or run of ${target} on ${model} in ${db.name}`);
  const texts = await textCache.of(model);

  const sweep =
    choice.sweep === undefined
      ? choice.scan === undefined
        ? sweeps[0]
        : undefined
      : sweeps.find((s) => s.id === choice.sweep);
  if (choice.sweep !== undefined && !sweep)
    throw new NotFoundError(`sweep ${choice.sweep} has no feature ${target} of ${model}`);
  const swept = sweep && sweepFeature(db, sweep.id, sweep.rank);

  const scanFeatures = featureScans.map((s) => ({ ...s, context: featureScanHeader(db, s.id).context }));
  if (choice.scan !== undefined && !scanFeatures.some((s) => s.id === choice.scan))
    throw new NotFoundError(`scan ${choice.scan} has no feature ${target} of ${model}`);
  // The scans shown: the one asked for, else the sweep's; else the newest of each context.
  const chosenId = choice.scan ?? (sweep && findSweep(db, sweep.id).featureScanId) ?? undefined;
  const chosen = scanFeatures.find((s) => s.id === chosenId);
  const newest = (context: 'window' | 'document') =>
    chosen?.context === context ? chosen : scanFeatures.find((s) => s.context === context);
  const windowFeature = maybe(newest('window'), (s) => scanFeature(db, s));
  const documentFeature = maybe(newest('document'), (s) => scanFeature(db, s));
  const windowScan: ScanResult | undefined =
    windowFeature?.scan ?? (scans[0] === undefined ? undefined : loadScan(db, scans[0]));
  const bar =
    windowScan && windowScan.examples.length > 0 ? median(windowScan.examples.map((e) => e.xent)) : null;

  // The runs of the feature (newest first): their summaries and their progress.
  const sweepOf = sweepOfRuns(db);
  const infos: RunInfo[] = runs.map((id) => runInfo(db, findRun(db, id), jobs, sweepOf.get(id) ?? null));
  const summaries = infos.slice(0, FIGURE_RUNS).map((info) => ({
    label: info.label,
    summary: storedSummary(db, info.id) ?? rebuiltSummary(db, info.id, (ids) => texts.text(ids)),
  }));
  const progress = infos.slice(0, FIGURE_RUNS).map((info) => runProgress(db, info, texts, bar).progress);

  // The paper's figure: the runs against the scan's examples, as `reverie compare` prepares it.
  const comparable = windowScan ? summaries.filter((s) => s.summary.model.id === windowScan.model) : [];
  const comparison =
    windowScan && comparable.length > 0
      ? compare(
          comparable.map((s) => ({ dir: s.label, run: s.summary })),
          windowScan,
        )
      : undefined;
  const points = comparison?.points ?? [...datasetPoints(windowScan), ...dreamPoints(summaries)];

  // The top dreams, each with its stored attribution where there is one (a sweep attributes its best dream).
  const attributed = new Map<string, AttributionView>();
  for (const id of attributions.slice(0, ATTRIBUTIONS)) {
    const a = loadAttribution(db, id);
    if (!attributed.has(promptKey(a.ids))) attributed.set(promptKey(a.ids), withoutSwaps(a));
  }
  const frontier = new Map<string, RunSummary['frontier'][number] & { run: string }>();
  for (const { label, summary } of summaries)
    for (const p of summary.frontier)
      if ((frontier.get(promptKey(p.ids))?.target ?? -Infinity) < p.target)
        frontier.set(promptKey(p.ids), { ...p, run: label });
  const dreams: DreamView[] = [...frontier.values()]
    .sort((a, b) => b.target - a.target)
    .slice(0, TOP_DREAMS)
    .map((p) => ({ ...p, attribution: attributed.get(promptKey(p.ids)) ?? null }));
  for (const a of attributed.values())
    if (!dreams.some((d) => d.attribution === a))
      dreams.push({
        ids: a.ids,
        text: a.text ?? texts.text(a.ids),
        target: a.baseline.target,
        xent: a.baseline.xent,
        run: 'attributed',
        attribution: a,
      });

  const { hook, index } = featureOf(target) ?? { hook: target, index: '' };
  return {
    model,
    target,
    hook,
    index,
    url: featureUrl(model, target) ?? '',
    sweeps: sweeps.map((s) => ({
      id: s.id,
      label: s.name === null ? `sweep ${s.id}` : `sweep ${s.id} (${s.name})`,
      url: sweepUrl(s.id),
    })),
    scans: scanFeatures.map((s) => ({ id: s.id, context: s.context, url: scanUrl(s.id) })),
    sweepId: sweep?.id ?? null,
    scanId: windowFeature?.id ?? documentFeature?.id ?? null,
    result: swept?.result ?? null,
    stats: (windowFeature ?? documentFeature)?.feature.stats ?? null,
    points,
    comparison: comparison?.summary ?? null,
    bar,
    colors: {
      dataset: FIGURE_COLORS.dataset,
      dream: FIGURE_COLORS.dream,
      frontier: FIGURE_COLORS.frontier,
      runs: [...runColors(points)],
      palette: [...RUN_COLORS],
    },
    runs: infos,
    progress,
    dreams,
    examples: (windowScan?.examples ?? []).map((e) => windowExample(e, texts, target)),
    documentExamples: ((documentFeature?.feature.examples ?? []) as DocumentExample[]).map((e) =>
      documentExample(e, texts),
    ),
    dream: { model, target, seqLen: windowScan?.window ?? null },
  };
}
