/** reverie: fluent dreaming for language models. Each layer as a namespace, plus the everyday entry points. */
export * as graph from './graph/index.ts';
export * as nn from './nn/index.ts';
export * as runtime from './runtime/index.ts';
export * as models from './models/index.ts';
export { loadModel } from './models/load.ts';
export type { Model } from './models/model.ts';
export {
  customTarget,
  parseTarget,
  TARGET_SYNTAX,
  TargetSpecError,
  type CustomTargetDefinition,
  type Target,
  type TargetViews,
} from './objectives/target.ts';
export { trace, TraceError, type Trace, type TraceOptions } from './models/trace.ts';
export {
  dream,
  resumeDream,
  type DreamRequest,
  type DreamResult,
  type RunSink,
  type StoredRun,
} from './dream/run.ts';
export { MemorySink } from './dream/memory-sink.ts';
export {
  ContinuationCheck,
  redteam,
  REDTEAM_LOSS,
  type RedteamRequest,
  type RedteamResult,
  type Success,
} from './dream/redteam.ts';
export { TemplateError } from './dream/context.ts';
export { continuationSpec, CONTINUATION_LOSSES, type ContinuationLoss } from './objectives/continuation.ts';
export { DEFAULT_EPO_OPTIONS, PRESETS, type EpoOptions, type Preset } from './dream/options.ts';
export { nondominatedFrontier, sweepFrontier } from './dream/frontier.ts';
export type { Checkpoint, RunHeader, RunSummary } from './dream/records.ts';
export { openStore, storePath } from './store/database.ts';
export {
  StoreSink,
  findRun,
  listRuns,
  runHistory,
  storedRun,
  storedSummary,
  removeRun,
} from './store/runs.ts';
export { readRunFolder, writeRunFolder } from './store/files.ts';
export { RunReader, type OpenedRun } from './store/open.ts';
export { attribute } from './dream/attribution.ts';
export { favouredSwaps } from './dream/favoured.ts';
export { scanCorpus } from './data/scan.ts';
export {
  featureScanResult,
  scanFeatures,
  type DocumentExample,
  type FeatureScanFeature,
  type FeatureScanRequest,
  type FeatureScanResult,
  type ScanContext,
} from './data/feature-scan.ts';
export type { FeatureStats } from './data/feature-stats.ts';
export { isFeatureSetSpec, parseFeatureSet, type FeatureSet } from './objectives/features.ts';
export { loadFeatureScan, listFeatureScans, saveFeatureScan } from './store/feature-scans.ts';
export {
  defaultJobs,
  resumeSweep,
  sweep,
  SweepError,
  type SweepProgress,
  type SweepRequest,
  type SweepResumeRequest,
} from './sweep/sweep.ts';
export {
  findSweep,
  listSweeps,
  removeSweep,
  sweepFeatures,
  type SweepFeatureResult,
  type SweepFeatureRow,
  type SweepRow,
  type SweepSpec,
} from './store/sweeps.ts';
export { sweepTable } from './report/sweep-table.ts';
export { measureQuality, timeToReference, type QualityResult } from './report/quality.ts';
export {
  frontierHtml,
  frontierPlot,
  plotCompare,
  plotFrontier,
  runSeries,
  type FrontierMethod,
  type FrontierSeries,
  type FrontierPlotOptions,
  type PlotRun,
} from './report/frontier.ts';
export { svgToPng } from './report/figure.ts';
