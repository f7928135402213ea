import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_EPO_OPTIONS, type EpoOptions } from '../../dream/options.ts';
import { dream, resumeDream } from '../../dream/run.ts';
import type { RunSummary } from '../../dream/store.ts';
import { resolveModel, DEFAULT_MODEL } from '../../io/resolve.ts';
import { loadModel } from '../../models/load.ts';
import { TARGET_SYNTAX } from '../../objectives/target.ts';
import { sha256Files } from '../../dream/run.ts';
import { numberOption, UsageError, type Command } from '../command.ts';
import { ProgressView, promptText } from '../progress.ts';

export const DEFAULT_TARGET = 'blocks.4.mlp.hook_post[0]';
const d = DEFAULT_EPO_OPTIONS;

const usage = `Usage: reverie dream [--model M] [--target T] [options]

Runs EPO (or GCG with --gcg) to find short fluent prompts that drive the target as high as it goes, and
writes the run (run.json, history.jsonl) to --out DIR (default ./reverie-runs/<timestamp>-<target>/).

Targets (default ${DEFAULT_TARGET}):
  ${TARGET_SYNTAX}

Options:
  -m, --model M            path or hub id (default ${DEFAULT_MODEL})
  -t, --target T           the target spec
      --seq-len N          optimized tokens per prompt (default ${d.seqLen})
      --population M       population size (default ${d.population})
      --children R         children per member per iteration (default ${d.childrenPerMember})
      --topk K             gradient top-k tokens per position (default ${d.topk})
      --iters N            iterations (default ${d.iters}); with --resume, how many more
      --penalty-min X      smallest penalty λ (default ${d.penaltyMin})
      --penalty-max X      largest penalty λ (default ${d.penaltyMax})
      --restart-every F    restart every F iterations, 0 = never (default ${d.restartEvery})
      --seed S             random seed (default ${d.seed})
      --gcg                GCG: population 1 with the fixed --penalty
      --penalty X          GCG's penalty (default ${d.penalty})
      --no-bos             no BOS before the prompt (default: BOS where the tokenizer adds one)
      --ascii              never propose non-ASCII tokens
      --round-trip         drop candidates whose text does not re-encode to the same ids
      --initial TEXT       start every member from this prompt (exactly --seq-len tokens)
      --resume DIR         continue the run stored in DIR for --iters more iterations
      --time-limit S       stop after S seconds, everything written
      --max-evaluations N  stop after N evaluated candidates
      --threads N          ONNX Runtime threads (default: 1 for tiny models such as stories260K, else all)
      --evaluation E       how children are evaluated: incremental (from the parent's cached prefix),
                           full, or auto (default: the faster for the model; run.json says which)
      --out DIR            where to write the run
      --profile            also write ONNX Runtime's profile of each program to DIR/ort-profile_*.json
      --json               print run.json at the end instead of the frontier table`;

function epoOptions(values: Record<string, unknown>): Partial<EpoOptions> {
  const n = (name: string, fallback: number, integer = true) =>
    numberOption(values, name, fallback, { integer, usage });
  return {
    seqLen: n('seq-len', d.seqLen),
    population: n('population', d.population),
    childrenPerMember: n('children', d.childrenPerMember),
    topk: n('topk', d.topk),
    iters: n('iters', d.iters),
    penaltyMin: n('penalty-min', d.penaltyMin, false),
    penaltyMax: n('penalty-max', d.penaltyMax, false),
    restartEvery: n('restart-every', d.restartEvery),
    seed: n('seed', d.seed),
    gcg: values.gcg === true,
    penalty: n('penalty', d.penalty, false),
    ...(values['no-bos'] === true ? { bos: false } : {}),
    ascii: values.ascii === true,
    roundTrip: values['round-trip'] === true,
    timeLimit: n('time-limit', 0, false),
    maxEvaluations: n('max-evaluations', 0),
    ...(values.threads !== undefined ? { threads: n('threads', 1) } : {}),
    ...(values.evaluation !== undefined ? { evaluation: evaluationOption(values.evaluation as string) } : {}),
  };
}

function evaluationOption(raw: string): EpoOptions['evaluation'] {
  if (raw !== 'auto' && raw !== 'full' && raw !== 'incremental')
    throw new UsageError(`--evaluation must be auto, full or incremental, got "${raw}"\n\n${usage}`);
  return raw;
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

export const dreamCommand: Command = {
  name: 'dream',
  summary: 'run EPO (or GCG) on a model and a target; live progress; writes the run',
  usage,
  options: {
    model: { type: 'string', short: 'm' },
    target: { type: 'string', short: 't' },
    'seq-len': { type: 'string' },
    population: { type: 'string' },
    children: { type: 'string' },
    topk: { type: 'string' },
    iters: { type: 'string' },
    'penalty-min': { type: 'string' },
    'penalty-max': { type: 'string' },
    'restart-every': { type: 'string' },
    seed: { type: 'string' },
    gcg: { type: 'boolean' },
    penalty: { type: 'string' },
    'no-bos': { type: 'boolean' },
    ascii: { type: 'boolean' },
    'round-trip': { type: 'boolean' },
    initial: { type: 'string' },
    resume: { type: 'string' },
    'time-limit': { type: 'string' },
    'max-evaluations': { type: 'string' },
    threads: { type: 'string' },
    evaluation: { type: 'string' },
    out: { type: 'string' },
    profile: { type: 'boolean' },
    json: { type: 'boolean' },
  },
  async run(values) {
    const resume = values.resume as string | undefined;
    let modelId = (values.model as string | undefined) ?? DEFAULT_MODEL;
    if (resume) {
      const stored = JSON.parse(readFileSync(join(resume, 'run.json'), 'utf8')) as RunSummary;
      if (values.target !== undefined && values.target !== stored.target)
        throw new UsageError(`--resume continues the stored target ${stored.target}; drop --target`);
      modelId = (values.model as string | undefined) ?? stored.model.id;
    }
    const resolved = await resolveModel(modelId);
    const model = await loadModel(modelId);
    const modelSha256 = sha256Files([resolved.files.weights]);
    const options = epoOptions(values);
    const view = new ProgressView(model);
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
      if (resume) {
        const iters = numberOption(values, 'iters', d.iters, { usage });
        summary = await resumeDream({
          ...common,
          outDir: resume,
          iters,
          onProgress: (p) => view.update(p),
        });
      } else {
        const target = (values.target as string | undefined) ?? DEFAULT_TARGET;
        const outDir = (values.out as string | undefined) ?? defaultOutDir(target);
        process.stderr.write(`dreaming ${target} on ${model.id} → ${outDir}\n`);
        summary = await dream({
          ...common,
          target,
          options,
          ...(values.initial !== undefined ? { initial: values.initial as string } : {}),
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
    } finally {
      process.removeListener('SIGINT', onSigint);
    }
  },
};
