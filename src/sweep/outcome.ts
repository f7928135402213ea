/**
 * A feature's outcome from its dream, as the paper compares it (VersusDataset): the bar is the median xent
 * of the feature's top dataset examples and the top activation; the dream's best candidate at most that
 * perplexing is compared with it, and the best dream is attributed. Shared by the local pool's job (job.ts)
 * and the queue's worker (queue-job.ts), so that both give the same result for the same run.
 */
import { attribute, type Attribution } from '../dream/attribution.ts';
import type { Candidate } from '../dream/epo.ts';
import type { Model } from '../models/model.ts';
import { median } from '../report/stats.ts';
import type { SweepFeatureResult, SweepPrompt } from '../store/sweeps.ts';

/** A feature job that cannot run: what it needs is not there. */
export class FeatureJobError extends Error {
  override name = 'FeatureJobError';
}

/** The bar a feature's dream is measured against. */
export interface ComparisonBar {
  medianXent: number;
  topExample: SweepPrompt;
}

/** The bar from a feature's top dataset examples. */
export function comparisonBar(examples: readonly SweepPrompt[], target: string): ComparisonBar {
  if (examples.length === 0)
    throw new FeatureJobError(
      `feature ${target} has no dataset example: expected at least one from the scan`,
    );
  const top = examples.reduce((a, b) => (b.activation > a.activation ? b : a));
  return {
    medianXent: median(examples.map((e) => e.xent)),
    topExample: { ids: top.ids, text: top.text, activation: top.activation, xent: top.xent },
  };
}

/** The best candidate (highest activation) among those at xent ≤ maxXent, or undefined. */
function bestFluent(candidates: Iterable<Candidate>, maxXent: number): Candidate | undefined {
  let best: Candidate | undefined;
  for (const c of candidates)
    if (c.xent <= maxXent && (best === undefined || c.target > best.target)) best = c;
  return best;
}

export interface OutcomeRequest {
  model: Model;
  target: string;
  bar: ComparisonBar;
  /** Every candidate the run evaluated, in order (a function: it is read twice). */
  candidates: () => Iterable<Candidate>;
  bos: number | null;
  attributionK: number;
  threads?: number;
  /** The run's iterations and seconds. */
  iterations: number;
  seconds: number;
}

/** The comparison and the attribution of the best dream: the fluent one, else the most activating. */
export async function featureOutcome(
  request: OutcomeRequest,
): Promise<{ result: SweepFeatureResult; attribution: Attribution | undefined }> {
  const { model, bar } = request;
  const fluent = bestFluent(request.candidates(), bar.medianXent);
  const text = (ids: number[]) => model.tokenizer?.decode(ids) ?? ids.join(' ');
  const prompt = (c: Candidate): SweepPrompt => ({
    ids: c.ids,
    text: text(c.ids),
    activation: c.target,
    xent: c.xent,
  });
  const attributed = fluent ?? bestFluent(request.candidates(), Infinity);
  const attribution =
    attributed &&
    (await attribute({
      model,
      target: request.target,
      ids: attributed.ids,
      bos: request.bos,
      k: request.attributionK,
      ...(request.threads !== undefined && { threads: request.threads }),
    }));
  const result: SweepFeatureResult = {
    topExample: bar.topExample,
    medianXent: bar.medianXent,
    bestDream: fluent ? prompt(fluent) : null,
    margin: fluent ? fluent.target - bar.topExample.activation : null,
    win: fluent !== undefined && fluent.target > bar.topExample.activation,
    iterations: request.iterations,
    seconds: request.seconds,
  };
  return { result, attribution };
}
