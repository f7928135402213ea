import { join } from 'node:path';
import type { ParseArgsConfig } from 'node:util';
import { DEFAULT_EPO_OPTIONS } from '../../dream/options.ts';
import { dream, resumeDream, sha256Files } from '../../dream/run.ts';
import { readRunSummary, type RunSummary } from '../../dream/store.ts';
import { resolveModel, DEFAULT_MODEL } from '../../io/resolve.ts';
import { loadModel } from '../../models/load.ts';
import { TARGET_SYNTAX } from '../../objectives/target.ts';
import { compare, CompareError, readScan, summaryText } from '../../report/compare.ts';
import { UsageError, type Command } from '../command.ts';
import { VersusDataset } from '../../report/quality.ts';
import { ProgressView, promptText } from '../progress.ts';
import { epoOptions, OPTIONS, optionLines, perCall, resumeConflicts, wrap } from './dream-options.ts';

export const DEFAULT_TARGET = 'blocks.4.mlp.hook_post[0]';
const d = DEFAULT_EPO_OPTIONS;

const usage = `Usage: reverie dream [--model M] [--target T] [options]

Runs EPO (or GCG with --gcg) to find short fluent prompts that drive the target as high as it goes, and
writes the run (run.json, history.jsonl) to --out DIR (default ./reverie-runs/<timestamp>-<target>/).

Targets (default ${DEFAULT_TARGET}):
  ${TARGET_SYNTAX}

Options:
${optionLines().join('\n')}

${wrap(
  `With --resume DIR the run goes on with its own options: --iters counts more iterations, and ${perCall} ` +
    `hold for this call only. Any other option given must agree with the run as it was asked for (--topk ` +
    `512 agrees with a stories260K run that capped it at 509), else it is an error naming it.`,
).join('\n')}`;

/** --initial's text, or the top examples of --init-from's scan (best first); not both. */
function initialPrompts(values: Record<string, unknown>, seqLen: number): string | number[][] | undefined {
  const text = values.initial as string | undefined;
  const path = values['init-from'] as string | undefined;
  if (path === undefined) return text;
  if (text !== undefined) throw new UsageError('--initial and --init-from both start the run; give one');
  const scan = readScan(path);
  if (scan.window !== seqLen)
    throw new UsageError(
      `--init-from ${path}: the scan's windows are ${scan.window} tokens, --seq-len is ${seqLen}`,
    );
  return scan.examples.map((e) => e.ids);
}

function defaultOutDir(target: string): string {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const slug = target.replace(/[^\w.-]+/g, '_').slice(0, 60);
  return join('reverie-runs', `${stamp}-${slug}`);
}

export function printFrontier(
  summary: RunSummary,
  write: (line: string) => void,
  text: (ids: number[]) => string,
): void {
  write(
    `frontier of ${summary.target} (${summary.evaluations} evaluations, ${summary.seconds.toFixed(1)} s):`,
  );
  write(`  ${'target'.padStart(9)}  ${'xent'.padStart(6)}  prompt`);
  for (const p of summary.frontier)
    write(`  ${p.target.toFixed(3).padStart(9)}  ${p.xent.toFixed(3).padStart(6)}  ${text(p.ids)}`);
}

type ParseArgsOptions = NonNullable<ParseArgsConfig['options']>;

export const dreamCommand: Command = {
  name: 'dream',
  summary: 'run EPO (or GCG) on a model and a target; live progress; writes the run',
  usage,
  options: Object.fromEntries(
    OPTIONS.map((o) => [
      o.name,
      { type: o.kind === 'flag' ? 'boolean' : 'string', ...(o.short !== undefined && { short: o.short }) },
    ]),
  ) as ParseArgsOptions,
  async run(values) {
    const options = epoOptions(values, usage);
    const resume = values.resume as string | undefined;
    const stored = resume === undefined ? undefined : readRunSummary(resume);
    const target = stored?.target ?? ((values.target as string | undefined) ?? DEFAULT_TARGET).trim();
    // --against: the scan read and checked against this run's target and model before any work.
    const againstPath = values.against as string | undefined;
    const scan = againstPath === undefined ? undefined : readScan(againstPath);
    if (scan && scan.target !== target)
      throw new CompareError(
        `--against ${againstPath}: the scan scored ${scan.target}, this run dreams ${target}; ` +
          `scan ${target}, or dream the scan's target`,
      );
    const initial = initialPrompts(values, options.seqLen ?? d.seqLen);
    const modelId = (values.model as string | undefined) ?? stored?.model.id ?? DEFAULT_MODEL;
    const resolved = await resolveModel(modelId);
    const model = await loadModel(modelId);
    const modelSha256 = sha256Files([resolved.files.weights]);
    if (scan && scan.model !== model.id)
      throw new CompareError(
        `--against ${againstPath}: the scan used model ${scan.model}, this run ${model.id}`,
      );
    if (resume !== undefined && stored) {
      const conflicts = resumeConflicts(values, options, stored, resume, model, modelSha256);
      const one = conflicts.length === 1;
      if (conflicts.length > 0)
        throw new UsageError(
          `--resume ${resume}: ${one ? 'an option contradicts' : 'options contradict'} the stored run: ` +
            `${conflicts.join(', ')}; drop ${one ? 'it' : 'them'}, or start a new run`,
        );
    }
    const versus = scan && VersusDataset.of(scan);
    if (versus && stored) versus.observe(stored.frontier); // the best so far includes the earlier calls'
    const view = new ProgressView(model, process.stderr, 10, versus);
    let interrupted = false;
    const onSigint = () => {
      interrupted = true;
      process.stderr.write('\nstopping after this iteration…\n');
    };
    process.once('SIGINT', onSigint);
    const common = {
      model,
      modelSha256,
      profile: values.profile === true,
      shouldStop: () => interrupted,
    };
    try {
      let summary: RunSummary;
      let outDir: string;
      if (resume !== undefined && stored) {
        outDir = resume;
        summary = await resumeDream({
          ...common,
          outDir: resume,
          iters: options.iters ?? d.iters,
          ...(options.timeLimit !== undefined && { timeLimit: options.timeLimit }),
          ...(options.maxEvaluations !== undefined && { maxEvaluations: options.maxEvaluations }),
          onProgress: (p) => view.update(p),
        });
      } else {
        outDir = (values.out as string | undefined) ?? defaultOutDir(target);
        process.stderr.write(`dreaming ${target} on ${model.id} → ${outDir}\n`);
        summary = await dream({
          ...common,
          target,
          options,
          ...(initial !== undefined && { initial }),
          outDir,
          onProgress: (p) => view.update(p),
        });
        process.stderr.write(`wrote ${join(outDir, 'run.json')} and ${join(outDir, 'history.jsonl')}\n`);
      }
      if (values.json) console.log(JSON.stringify(summary, null, 2));
      else
        printFrontier(
          summary,
          (l) => console.log(l),
          (ids) => promptText(model, ids, 90),
        );
      if (scan) {
        // The paper's comparison, as `reverie compare --runs OUT --scan SCAN` prints it (on stderr with
        // --json, so that stdout stays run.json).
        const text = summaryText(compare([{ dir: outDir, run: summary }], scan).summary);
        if (values.json) process.stderr.write(`${text}\n`);
        else console.log(`\n${text}`);
      }
    } finally {
      process.removeListener('SIGINT', onSigint);
    }
  },
};
