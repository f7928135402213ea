/**
 * A layer's page: a sweep (per feature its top example, best fluent dream and win, from the sweep's
 * results) or a multi-feature scan (per feature its top example), each feature with its statistics.
 */
import type { FeatureScanFeature, FeatureScanResult } from '../../data/feature-scan.ts';
import { featureLabel } from '../../report/sweep-table.ts';
import type { Db } from '../../store/database.ts';
import { loadFeatureScan } from '../../store/feature-scans.ts';
import { findSweep, sweepFeatures } from '../../store/sweeps.ts';
import type { LayerFeature, LayerView } from '../types.ts';
import { featureUrl } from '../urls.ts';
import { sweepInfo } from './info.ts';

const statsOf = (f: FeatureScanFeature | undefined): LayerFeature['stats'] => {
  if (!f) return null;
  const { count, max, mean, positive, quantiles, histogram } = f.stats;
  return { count, max, mean, positive, quantiles, histogram };
};

const topOf = (f: FeatureScanFeature | undefined): LayerFeature['top'] => {
  const e = f?.examples[0];
  if (!e) return null;
  return { text: e.text, activation: e.activation, xent: 'xent' in e ? e.xent : null };
};

function scanPart(scan: FeatureScanResult, id: number): NonNullable<LayerView['scan']> {
  return {
    id,
    context: scan.context,
    window: scan.window ?? null,
    tokensScanned: scan.tokensScanned,
    windows: scan.windows,
    corpus: scan.corpus,
  };
}

export function sweepView(db: Db, id: number): LayerView {
  const row = findSweep(db, id);
  const scan = row.featureScanId === null ? undefined : loadFeatureScan(db, row.featureScanId);
  const info = sweepInfo(db, row);
  const model = row.spec.model.id;
  return {
    kind: 'sweep',
    id,
    title: `${info.label}: ${row.spec.target}`,
    model,
    target: row.spec.target,
    sweep: info,
    scan: scan && row.featureScanId !== null ? scanPart(scan, row.featureScanId) : null,
    features: sweepFeatures(db, id).map((f) => {
      const scanned = scan?.features[f.rank];
      const url = featureUrl(model, f.target);
      return {
        rank: f.rank,
        target: f.target,
        label: featureLabel(f.target),
        url: url && `${url}?sweep=${id}`,
        status: f.status,
        runId: f.runId,
        result: f.result,
        error: f.error,
        worker: f.worker,
        top: topOf(scanned),
        stats: statsOf(scanned),
      };
    }),
  };
}

export function featureScanView(db: Db, id: number): LayerView {
  const scan = loadFeatureScan(db, id);
  return {
    kind: 'scan',
    id,
    title: `scan ${id}: ${scan.target} (${scan.context} context)`,
    model: scan.model,
    target: scan.target,
    sweep: null,
    scan: scanPart(scan, id),
    features: scan.features.map((f, rank) => {
      const url = featureUrl(scan.model, f.target);
      return {
        rank,
        target: f.target,
        label: featureLabel(f.target),
        url: url && `${url}?scan=${id}`,
        status: null,
        runId: null,
        result: null,
        error: null,
        worker: null,
        top: topOf(f),
        stats: statsOf(f),
      };
    }),
  };
}
