/**
 * What the server's JSON API answers, and what its pages embed: the views of the store the browser code
 * (web/) renders. Types only, so that web/ imports them without pulling in the server.
 */
import type { FeatureStats } from '../data/feature-stats.ts';
import type { Attribution, PositionAttribution } from '../dream/attribution.ts';
import type { ComparisonSummary } from '../report/compare.ts';
import type { FigurePoint } from '../report/figure.ts';
import type { RunStatus } from '../store/runs.ts';
import type { FeatureStatus, SweepFeatureResult, SweepStatus } from '../store/sweeps.ts';

/** A run as lists show it. */
export interface RunInfo {
  id: number;
  name: string | null;
  /** `run 3` or `run 3 (name)`: its label in figures and tables. */
  label: string;
  model: string;
  target: string;
  status: RunStatus;
  iterations: number;
  /** The iterations it was asked for. */
  iters: number | null;
  evaluations: number;
  seconds: number;
  bestTarget: number | null;
  updatedAt: string;
  /** Its page, and its feature's page where its target is one feature of a hook. */
  url: string;
  featureUrl: string | null;
  /** The sweep it dreams a feature of, if any. */
  sweepId: number | null;
  /** Whether this server runs it (it can be cancelled here). */
  job: boolean;
  /** Whether a live process writes it (this server or another). */
  live: boolean;
}

/** A sweep as lists show it, with its live progress. */
export interface SweepInfo {
  id: number;
  name: string | null;
  label: string;
  model: string;
  target: string;
  status: SweepStatus;
  features: number;
  finished: number;
  failed: number;
  wins: number;
  /** `wins: 97 of 172 features (56.4%)`, as `reverie sweep` prints it. */
  winsLine: string;
  seconds: number;
  updatedAt: string;
  url: string;
  /** The features being dreamed now: their run's iteration of its total. */
  running: { rank: number; target: string; runId: number; iterations: number; iters: number | null }[];
  /** A sweep on a queue (`reverie sweep --queue`): its jobs, and the worker holding each running one. */
  queue: SweepQueueInfo | null;
}

/** A queued sweep's jobs as the store has them (the sweep's process writes what the queue says). */
export interface SweepQueueInfo {
  /** The Redis URL, its password masked. */
  url: string;
  queued: number;
  running: { rank: number; target: string; worker: string }[];
  finished: number;
  failed: number;
}

/** A scan as lists show it: one target (`single`) or a multi-feature scan (`features`, a layer page). */
export interface ScanInfo {
  kind: 'single' | 'features';
  id: number;
  model: string;
  target: string;
  createdAt: string;
  /** Examples of a single scan; features of a multi-feature one. */
  size: number;
  context: 'window' | 'document';
  url: string | null;
}

export interface HomeView {
  store: string;
  models: { name: string; runs: number; sweeps: number; scans: number }[];
  sweeps: SweepInfo[];
  runs: RunInfo[];
  scans: ScanInfo[];
  /** Dreams this server runs now, and how many threads it gives them at most. */
  jobs: { running: number; threads: number; maxThreads: number };
  /** The model a dream started here uses by default. */
  defaultModel: string;
}

/** One row of a layer page: a feature of a sweep or of a multi-feature scan. */
export interface LayerFeature {
  rank: number;
  target: string;
  /** Its index in the hook, as the tables show it. */
  label: string;
  url: string | null;
  status: FeatureStatus | null;
  runId: number | null;
  result: SweepFeatureResult | null;
  error: string | null;
  /** On a queue: the worker holding (or that finished) its job. */
  worker: string | null;
  /** The top dataset example of the scan (a sweep's result has its own). */
  top: { text: string; activation: number; xent: number | null } | null;
  stats: Pick<FeatureStats, 'count' | 'max' | 'mean' | 'positive' | 'quantiles' | 'histogram'> | null;
}

export interface LayerView {
  kind: 'sweep' | 'scan';
  id: number;
  title: string;
  model: string;
  target: string;
  sweep: SweepInfo | null;
  scan: {
    id: number;
    context: 'window' | 'document';
    window: number | null;
    tokensScanned: number;
    windows: number;
    corpus: string[];
  } | null;
  features: LayerFeature[];
}

/** A token with its text, and a value to shade it by (attribution importance or activation). */
export interface ShadedToken {
  text: string;
  value: number;
}

/** A dataset example as the feature page shows it. */
export interface ExampleView {
  text: string;
  activation: number;
  /** Window examples: their own cross-entropy; document examples have none. */
  xent: number | null;
  /** Its tokens, each with the feature's activation where the scan kept it (document context), else 0. */
  tokens: ShadedToken[];
  /** The token the activation is read at. */
  at: number;
  source: string | null;
}

/** A point of a run's progress: the best activation so far, and the best at most as perplexing as the bar. */
export interface SeriesPoint {
  iter: number;
  best: number;
  fluent: number | null;
}

/** A prompt of a run's frontier, with its text. */
export interface FrontierPointView {
  ids: number[];
  text: string;
  target: number;
  xent: number;
}

/** What a run has found so far: its frontier, and the best values iteration by iteration. */
export interface RunProgress {
  runId: number;
  label: string;
  series: SeriesPoint[];
  frontier: FrontierPointView[];
}

/** An attribution as the pages show it: each position's worst and top-3 swaps (not every swap). */
export type AttributionView = Omit<Attribution, 'positions'> & {
  positions: Omit<PositionAttribution, 'replacements'>[];
};

/** A dream of the feature page's list, with its attribution where one is stored. */
export interface DreamView extends FrontierPointView {
  run: string;
  attribution: AttributionView | null;
}

export interface FeatureView {
  model: string;
  target: string;
  hook: string;
  index: string;
  url: string;
  /** Every sweep and multi-feature scan that holds the feature (newest first), and the ones shown. */
  sweeps: { id: number; label: string; url: string }[];
  scans: { id: number; context: 'window' | 'document'; url: string }[];
  sweepId: number | null;
  scanId: number | null;
  /** The sweep's result for it, where a sweep holds it. */
  result: SweepFeatureResult | null;
  stats: FeatureStats | null;
  /** The paper's figure: dataset examples and the runs' frontier points, as `reverie compare` draws it. */
  points: FigurePoint[];
  comparison: ComparisonSummary | null;
  /** The fluency bar: the median cross-entropy of the top dataset examples (null without a window scan). */
  bar: number | null;
  /** The figure's colours: the dataset's, each run's (by label), and the palette a new run takes its colour from. */
  colors: { dataset: string; dream: string; frontier: string; runs: [string, string][]; palette: string[] };
  runs: RunInfo[];
  progress: RunProgress[];
  dreams: DreamView[];
  examples: ExampleView[];
  documentExamples: ExampleView[];
  /** What a dream started from the page takes: the scan's window, so that it compares like for like. */
  dream: { model: string; target: string; seqLen: number | null };
}

export interface RunView {
  run: RunInfo;
  /** Its options as run (iterations, population, …). */
  options: Record<string, unknown>;
  progress: RunProgress;
  colors: { dream: string; frontier: string };
}

/** A server-sent event of a run's stream: its state, each iteration as committed, and its end. */
export type RunEvent =
  | { type: 'state'; run: RunInfo; progress: RunProgress }
  | { type: 'iteration'; iter: number; best: number; frontier: FrontierPointView[] }
  | { type: 'end'; run: RunInfo };

/** What `POST /api/dreams` takes and answers. */
export interface DreamRequestBody {
  model?: string;
  target: string;
  iters?: number;
  seed?: number;
  seqLen?: number;
}

export interface DreamStarted {
  runId: number;
  url: string;
  events: string;
}

/** Every error the API answers: the error's name and what was expected. */
export interface ApiError {
  error: string;
  message: string;
}
