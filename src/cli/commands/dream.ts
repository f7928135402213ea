import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_EPO_OPTIONS, type EpoOptions } from '../../dream/options.ts';
import type { Db } from '../../store/database.ts';
import { checkExportDir, writeRunFolder } from '../../store/files.ts';
import { runHistory, storedRun, StoreSink } from '../../store/runs.ts';
import { cliScan, cliStore, modelSha256 } from '../runs.ts';
import { nextTokens } from '../../dream/next-token.ts';
import { dream, parseRunTarget, resumeDream, type DreamProgress } from '../../dream/run.ts';
import type { RunSummary } from '../../dream/records.ts';
import { DEFAULT_MODEL } from '../../io/resolve.ts';
import { loadModel } from '../../models/load.ts';
import { TARGET_SYNTAX } from '../../objectives/target.ts';
import { CONTINUATION, continuationWithLoss } from '../../objectives/continuation.ts';
import { compare, CompareError, summaryText } from '../../report/compare.ts';
import { UsageError, type Command } from '../command.ts';
import { stopAfterIteration } from '../signals.ts';
import { VersusDataset } from '../../report/quality.ts';
import { ProgressView, promptText, tokenStyle } from '../progress.ts';
import {
  checkNewRun,
  epoOptions,
  OPTIONS,
  optionLines,
  parseArgsOptions,
  perCall,
  resumeConflicts,
  wrap,
} from './dream-options.ts';

export const DEFAULT_TARGET = 'blocks.4.mlp.hook_post[0]';
const d = DEFAULT_EPO_OPTIONS;

const usage = `Usage: reverie dream [--model M] [--target T] [options]

Runs EPO (or GCG with --gcg) to find short fluent prompts that drive the target as high as it goes. The
run goes into the store (--store, default ./reverie.db), one transaction an iteration, so that a run killed
at any moment loses at most the iteration in flight; it prints the run's id. --out DIR also exports it.

Targets (default ${DEFAULT_TARGET}):
  ${TARGET_SYNTAX}

Options:
${optionLines().join('\n')}

${wrap(
  `With --resume RUN (an id or name) the run goes on from its last iteration with its own options: --iters counts more iterations, and ${perCall} ` +
    `hold for this call only. Any other option given must agree with the run as it was asked for (--topk ` +
    `512 agrees with a stories260K run that capped it at 509), else it is an error naming it.`,
).join('\n')}`;

/** --initial's text, or the top examples of --init-from's scan (best first); not both. */
function initialPrompts(values: Record<string, unknown>, seqLen: number): string | number[][] | undefined {
  const text = values.initial as string | undefined;
  const path = values['init-from'] as string | undefined;
  if (path === undefined) return text;
  if (text !== undefined) throw new UsageError('--initial and --init-from both start the run; give one');
  const scan = cliScan(values, path);
  if (scan.window !== seqLen)
    throw new UsageError(
      `--init-from ${path}: the scan's windows are ${scan.window} tokens, --seq-len is ${seqLen}`,
    );
  return scan.examples.map((e) => e.ids);
}

/** The frontier as a table; with `next`, each prompt followed by the model's likeliest next token. */
export function printFrontier(
  summary: RunSummary,
  write: (line: string) => void,
  text: (ids: number[]) => string,
  next?: readonly string[],
): void {
  write(
    `frontier of ${summary.target} (${summary.evaluations} evaluations, ${summary.seconds.toFixed(1)} s):`,
  );
  write(`  ${'target'.padStart(9)}  ${'xent'.padStart(6)}  prompt${next ? ' → next token' : ''}`);
  summary.frontier.forEach((p, i) =>
    write(
      `  ${p.target.toFixed(3).padStart(9)}  ${p.xent.toFixed(3).padStart(6)}  ${text(p.ids)}` +
        (next ? ` → ${JSON.stringify(next[i])}` : ''),
    ),
  );
}

/**
 * Under a perplexity filter (--max-xent X), the best prompt within it: the frontier point of highest target at
 * xent ≤ X (the frontier holds it, being the best target at each xent). Undefined without a filter.
 */
export function filterLine(summary: RunSummary): string | undefined {
  const limit = summary.options.maxXent;
  if (!(limit > 0)) return undefined;
  const within = summary.frontier.filter((p) => p.xent <= limit);
  const best = within.reduce<(typeof within)[number] | undefined>(
    (a, p) => (a && a.target >= p.target ? a : p),
    undefined,
  );
  return best
    ? `best within the filter (xent ≤ ${limit}): target ${best.target.toFixed(3)}, xent ${best.xent.toFixed(3)}: ${JSON.stringify(best.text)}`
    : `no candidate within the filter (xent ≤ ${limit}): every one evaluated is more perplexing`;
}

export const dreamCommand: Command = {
  name: 'dream',
  summary: 'run EPO (or GCG) on a model and a target; live progress; writes the run',
  usage,
  options: parseArgsOptions(OPTIONS),
  async run(values) {
    const options = epoOptions(values, usage);
    const resume = values.resume as string | undefined;
    const out = values.out as string | undefined;
    const force = values.force === true;
    if (out !== undefined) checkExportDir(out, force);
    const db = cliStore(values, resume === undefined);
    try {
      await dreamInto(db, values, options, resume, out);
    } finally {
      db.close();
    }
  },
};

/** Where --profile writes: the --out folder (made now: ONNX Runtime writes before the export), else here. */
function profilePrefix(out: string | undefined): string {
  if (out !== undefined) mkdirSync(out, { recursive: true });
  return join(out ?? '.', 'ort-profile');
}

async function dreamInto(
  db: Db,
  values: Record<string, unknown>,
  options: Partial<EpoOptions>,
  resume: string | undefined,
  out: string | undefined,
): Promise<void> {
  const stored = resume === undefined ? undefined : storedRun(db, resume);
  const given = ((values.target as string | undefined) ?? DEFAULT_TARGET).trim();
  const loss = values.loss as string | undefined;
  const target = stored?.header.target ?? (loss === undefined ? given : continuationWithLoss(given, loss));
  // --against: the scan read and checked against this run's target and model before any work.
  const againstPath = values.against as string | undefined;
  const scan = againstPath === undefined ? undefined : cliScan(values, againstPath);
  if (scan && scan.target !== target)
    throw new CompareError(
      `--against ${againstPath}: the scan scored ${scan.target}, this run dreams ${target}; ` +
        `scan ${target}, or dream the scan's target`,
    );
  const initial = initialPrompts(values, options.seqLen ?? d.seqLen);
  const modelId = (values.model as string | undefined) ?? stored?.header.model.id ?? DEFAULT_MODEL;
  const model = await loadModel(modelId);
  const sha256 = await modelSha256(modelId);
  if (scan && scan.model !== model.id)
    throw new CompareError(
      `--against ${againstPath}: the scan used model ${scan.model}, this run ${model.id}`,
    );
  if (stored) {
    const conflicts = resumeConflicts(values, options, stored.header, model, sha256);
    const one = conflicts.length === 1;
    if (conflicts.length > 0)
      throw new UsageError(
        `--resume ${resume}: ${one ? 'an option contradicts' : 'options contradict'} the stored run: ` +
          `${conflicts.join(', ')}; drop ${one ? 'it' : 'them'}, or start a new run`,
      );
  } else checkNewRun(options, model);
  const versus = scan && VersusDataset.of(scan);
  const view = new ProgressView(model, process.stderr, 10, versus, tokenStyle(values, process.stderr));
  const sink = stored
    ? StoreSink.resume(db, stored.row.id)
    : StoreSink.create(db, {
        ...(values.name !== undefined && { name: values.name as string }),
        onCreated: (id) =>
          process.stderr.write(`run ${id} in ${db.name}: dreaming ${target} on ${model.id}\n`),
      });
  const signals = stopAfterIteration();
  const common = {
    model,
    modelSha256: sha256,
    sink,
    ...(values.profile === true && { profilePrefix: profilePrefix(out) }),
    shouldStop: signals.stopped,
    onProgress: (p: DreamProgress) => view.update(p),
  };
  try {
    let summary: RunSummary;
    if (stored) {
      process.stderr.write(
        `run ${stored.row.id} in ${db.name}: going on from iteration ${stored.checkpoint.iter}\n`,
      );
      // The best so far includes the earlier calls'.
      if (versus) for (const record of stored.history) versus.observe(record.candidates);
      summary = await resumeDream({
        ...common,
        from: stored,
        iters: options.iters ?? d.iters,
        ...(options.timeLimit !== undefined && { timeLimit: options.timeLimit }),
        ...(options.maxEvaluations !== undefined && { maxEvaluations: options.maxEvaluations }),
      });
    } else summary = await dream({ ...common, target, options, ...(initial !== undefined && { initial }) });
    const id = sink.id as number;
    process.stderr.write(
      `run ${id} in ${db.name}: ${summary.iterations} iterations (go on: reverie dream --resume ${id} --iters N)\n`,
    );
    if (out !== undefined) {
      const checkpoint = storedRun(db, id).checkpoint;
      const written = writeRunFolder(out, { summary, history: runHistory(db, id), checkpoint }, true);
      process.stderr.write(`wrote ${written.join(', ')}\n`);
    }
    if (values.json) console.log(JSON.stringify(summary, null, 2));
    else {
      // The next token after the prompt, where nothing fixed follows it.
      const alone = summary.options.templates.length === 0 && !CONTINUATION.test(summary.target);
      const target = parseRunTarget(summary.target, model, summary.options, summary.bos);
      const ids = summary.frontier.map((p) => p.ids);
      const next = alone ? await nextTokens(model, target, ids, summary.bos, summary.options.threads) : [];
      printFrontier(
        summary,
        (l) => console.log(l),
        (ids) => promptText(model, ids, 90, tokenStyle(values)),
        alone ? next.map((id) => model.tokenizer?.decode([id]) ?? `#${id}`) : undefined,
      );
      const filter = filterLine(summary);
      if (filter) console.log(filter);
    }
    if (scan) {
      // The paper's comparison, as `reverie compare --runs ID --scan SCAN` prints it (on stderr with
      // --json, so that stdout stays the summary).
      const text = summaryText(compare([{ dir: `run ${id}`, run: summary }], scan).summary);
      if (values.json) process.stderr.write(`${text}\n`);
      else console.log(`\n${text}`);
    }
  } finally {
    sink.release();
    signals.release();
  }
}
