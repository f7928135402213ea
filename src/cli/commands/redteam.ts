import { corpusSize } from '../../data/corpus.ts';
import type { ScanProgress } from '../../data/scan.ts';
import { xentThreshold } from '../../data/threshold.ts';
import { DEFAULT_EPO_OPTIONS, type EpoOptions } from '../../dream/options.ts';
import { redteam, type RedteamResult, type Success } from '../../dream/redteam.ts';
import type { DreamProgress } from '../../dream/run.ts';
import { DEFAULT_MODEL } from '../../io/resolve.ts';
import { loadModel } from '../../models/load.ts';
import type { Model } from '../../models/model.ts';
import { CONTINUATION_LOSSES, type ContinuationLoss } from '../../objectives/continuation.ts';
import { StoreSink } from '../../store/runs.ts';
import { UsageError, type Command } from '../command.ts';
import { stopAfterIteration } from '../signals.ts';
import { numberOption } from '../numbers.ts';
import { ProgressView, promptText, tokenStyle } from '../progress.ts';
import { cliStore, modelSha256 } from '../runs.ts';
import {
  checkNewRun,
  epoOptions,
  OPTIONS,
  optionLines,
  parseArgsOptions,
  type DreamOption,
} from './dream-options.ts';
import { printFrontier } from './dream.ts';
import { ScanProgressView } from './scan.ts';

/** redteam's own options, then the dream options that make sense for a red-teaming run. */
const REDTEAM_OPTIONS: readonly DreamOption[] = [
  {
    name: 'text',
    kind: 'text',
    arg: 'TEXT',
    help: [
      'what the model should say after the prompt, as it reads there (a new word starts with a',
      "space: ' The dog ran to the park.')",
    ],
  },
  {
    name: 'quantile',
    short: 'q',
    kind: 'text',
    arg: 'Q',
    help: "the filter: this quantile of --corpus's windows (e.g. 0.99)",
  },
  {
    name: 'corpus',
    short: 'c',
    kind: 'texts',
    arg: 'FILE',
    help: 'the corpus of --quantile; repeat for several',
  },
  { name: 'max-tokens', kind: 'text', arg: 'N', help: 'read at most N tokens of the corpus for the filter' },
  { name: 'keep-going', kind: 'flag', help: 'go on after success, to --iters or --time-limit' },
  {
    name: 'loss',
    kind: 'text',
    arg: 'L',
    help: [
      "how the text's tokens count: margin (default: the logit margins, all positive when greedy",
      'decoding says the text), mean (log-probability), min or mellowmax (see reverie dream)',
    ],
  },
  { name: 'json', kind: 'flag', help: 'print the report as JSON (the run without its history)' },
  ...OPTIONS.filter(
    (o) =>
      !['target', 'loss', 'init-from', 'resume', 'out', 'force', 'against', 'profile', 'json'].includes(
        o.name,
      ),
  ),
];

const usage = `Usage: reverie redteam --text TEXT [--template T]… [--quantile Q --corpus FILE… | --max-xent X] [options]

Fluent red-teaming: EPO on the continuation:TEXT target (token forcing) until greedy decoding after the prompt
(and the template's ending) says TEXT exactly, under a perplexity filter. The filter is --max-xent X, or the
cross-entropy below which the --quantile of a corpus's windows of --seq-len tokens fall (reverie threshold).
It stops at the first success within the filter unless --keep-going, and prints when it succeeded (iterations,
seconds), the prompt, its cross-entropy against the filter, and the frontier of forcing log-probability
against cross-entropy. The run goes into the store like a dream.

Options:
${optionLines(REDTEAM_OPTIONS).join('\n')}`;

function lossOf(raw: string): ContinuationLoss {
  if (!(CONTINUATION_LOSSES as readonly string[]).includes(raw))
    throw new UsageError(`--loss must be ${CONTINUATION_LOSSES.join(', ')}; got "${raw}"\n\n${usage}`);
  return raw as ContinuationLoss;
}

/** The filter the run is asked for: --max-xent, or a corpus quantile computed now (none: 0). */
async function filterOf(
  values: Record<string, unknown>,
  model: Model,
  options: Partial<EpoOptions>,
): Promise<{ maxXent: number; source: string }> {
  const corpus = (values.corpus as string[] | undefined) ?? [];
  const raw = values.quantile as string | undefined;
  if (raw === undefined) {
    if (corpus.length > 0)
      throw new UsageError(`--corpus gives --quantile's windows; give --quantile too\n\n${usage}`);
    const maxXent = options.maxXent ?? 0;
    return { maxXent, source: '--max-xent' };
  }
  if (values['max-xent'] !== undefined)
    throw new UsageError(`--max-xent and --quantile both set the filter; give one\n\n${usage}`);
  const q = Number(raw);
  if (raw.trim() === '' || !(q > 0 && q <= 1))
    throw new UsageError(`--quantile must be a number in (0, 1], got "${raw}"\n\n${usage}`);
  if (corpus.length === 0) throw new UsageError(`--quantile needs the --corpus it is taken over\n\n${usage}`);
  corpus.forEach(corpusSize);
  const maxTokens =
    values['max-tokens'] === undefined ? undefined : numberOption(values, 'max-tokens', 0, { usage, min: 1 });
  const view = new ScanProgressView();
  const result = await xentThreshold({
    model,
    corpus,
    quantiles: [q],
    window: options.seqLen ?? DEFAULT_EPO_OPTIONS.seqLen,
    ...(options.bos === false && { bos: false }),
    ...(maxTokens !== undefined && { maxTokens }),
    onProgress: (p: ScanProgress) => view.update(p),
  });
  const maxXent = result.thresholds[0]?.xent as number;
  return {
    maxXent,
    source: `quantile ${q} of ${result.windows.toLocaleString('en-US')} windows of ${corpus.join(', ')}`,
  };
}

/** A success as one line: when, the prompt, its xent against the filter. */
function successLine(s: Success, maxXent: number, prompt: (ids: number[]) => string): string {
  const filter =
    maxXent > 0
      ? ` ${s.withinFilter ? '≤' : '>'} ${maxXent.toFixed(3)} (${s.withinFilter ? 'passes' : 'fails'} the filter)`
      : '';
  return `after ${s.iterations} iterations, ${s.seconds.toFixed(1)} s: ${prompt(s.ids)}  xent ${s.xent.toFixed(3)}${filter}`;
}

/** The report's lines (the frontier printed after them). */
export function redteamLines(result: RedteamResult, prompt: (ids: number[]) => string): string[] {
  const { run, maxXent } = result;
  if (result.first) return [`success ${successLine(result.first, maxXent, prompt)}`];
  const lines = [
    `no success${maxXent > 0 ? ' within the filter' : ''} after ${run.iterations} iterations, ${run.seconds.toFixed(1)} s`,
  ];
  if (result.firstAny)
    lines.push(`  (greedy decoding said it ${successLine(result.firstAny, maxXent, prompt)})`);
  return lines;
}

export const redteamCommand: Command = {
  name: 'redteam',
  summary: 'fluent red-teaming: a prompt after which the model says TEXT, under a perplexity filter',
  usage,
  options: parseArgsOptions(REDTEAM_OPTIONS),
  async run(values) {
    const text = values.text as string | undefined;
    if (text === undefined) throw new UsageError(`--text is required: what the model should say\n\n${usage}`);
    if (text === '') throw new UsageError(`--text is empty: give what the model should say\n\n${usage}`);
    const options: Partial<EpoOptions> = epoOptions(values, usage);
    const modelId = (values.model as string | undefined) ?? DEFAULT_MODEL;
    const model = await loadModel(modelId);
    checkNewRun(options, model);
    const filter = await filterOf(values, model, options);
    options.maxXent = filter.maxXent;
    const sha256 = await modelSha256(modelId);
    const db = cliStore(values, true);
    const sink = StoreSink.create(db, {
      ...(values.name !== undefined && { name: values.name as string }),
      onCreated: (id) =>
        process.stderr.write(
          `run ${id} in ${db.name}: red-teaming ${JSON.stringify(text)} on ${model.id}, filter ${
            filter.maxXent > 0 ? `xent ≤ ${filter.maxXent.toFixed(3)} (${filter.source})` : 'none'
          }\n`,
        ),
    });
    const signals = stopAfterIteration();
    const view = new ProgressView(model, process.stderr, 10, undefined, tokenStyle(values, process.stderr));
    try {
      const result = await redteam({
        model,
        modelSha256: sha256,
        text,
        ...(values.loss !== undefined && { loss: lossOf(values.loss as string) }),
        ...(values.initial !== undefined && { initial: values.initial as string }),
        keepGoing: values['keep-going'] === true,
        options,
        sink,
        shouldStop: signals.stopped,
        onProgress: (p: DreamProgress) => view.update(p),
      });
      process.stderr.write(`run ${sink.id} in ${db.name}: ${result.run.iterations} iterations\n`);
      if (values.json) {
        const { run, ...report } = result;
        console.log(JSON.stringify({ ...report, run: { ...run, history: undefined } }, null, 2));
        return;
      }
      const prompt = (ids: number[]) => promptText(model, ids, 90, tokenStyle(values));
      for (const line of redteamLines(result, prompt)) console.log(line);
      console.log('');
      printFrontier(result.run, (l) => console.log(l), prompt);
    } finally {
      sink.release();
      db.close();
      signals.release();
    }
  },
};
