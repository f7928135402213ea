import { nondominatedFrontier, sweepFrontier } from '../../dream/frontier.ts';
import { loadModel } from '../../models/load.ts';
import type { Model } from '../../models/model.ts';
import { UsageError, type Command } from '../command.ts';
import { promptText } from '../progress.ts';
import { cliRunReader, STORE_HELP, STORE_OPTION } from '../runs.ts';
import type { OpenedRun } from '../../store/open.ts';
import type { Candidate } from '../../dream/epo.ts';

const usage = `Usage: reverie frontier RUN… [--method sweep|nondominated] [--json] [--store PATH]

The Pareto frontier of target against cross-entropy over every candidate the runs evaluated. A RUN is a
store id or name (reverie ls), or a folder of reverie export.

Options:
${STORE_HELP}
      --method M   sweep: the reference's penalty sweep, for each λ over 1/linspace(0, 50, 1000)[1:] the
                   candidate maximizing target − λ·xent; nondominated (default): the exact non-dominated set
      --json       print [{target, xent, ids, text, run}] instead of a table`;

export const frontierCommand: Command = {
  name: 'frontier',
  summary: 'the Pareto frontier (activation vs. cross-entropy) across one or more runs',
  usage,
  allowPositionals: true,
  options: { method: { type: 'string' }, json: { type: 'boolean' }, ...STORE_OPTION },
  async run(values, refs) {
    if (refs.length === 0) throw new UsageError(`name at least one run\n\n${usage}`);
    const method = (values.method as string | undefined) ?? 'nondominated';
    if (method !== 'sweep' && method !== 'nondominated')
      throw new UsageError(`--method must be sweep or nondominated, got "${method}"`);
    const reader = cliRunReader(values);
    const runs: OpenedRun[] = [];
    const points: (Candidate & { run: string })[] = [];
    try {
      for (const ref of refs) {
        const run = await reader.open(ref);
        runs.push(run);
        points.push(...run.candidates().map((c) => ({ ...c, run: run.label })));
      }
    } finally {
      reader.close();
    }
    const targets = new Set(runs.map((r) => r.summary.target));
    if (targets.size > 1)
      throw new UsageError(`the runs dream different targets: ${[...targets].join(', ')}`);
    const models = new Map<string, Model>();
    const frontier = method === 'sweep' ? sweepFrontier(points) : nondominatedFrontier(points);
    const modelOf = async (label: string) => {
      const id = runs.find((r) => r.label === label)!.summary.model.id;
      if (!models.has(id)) models.set(id, await loadModel(id));
      return models.get(id)!;
    };
    const rows = [];
    for (const p of frontier)
      rows.push({ ...p, text: (await modelOf(p.run)).tokenizer?.decode(p.ids) ?? p.ids.join(' ') });
    if (values.json) {
      console.log(
        JSON.stringify(rows.map(({ target, xent, ids, text, run }) => ({ target, xent, ids, text, run }))),
      );
      return;
    }
    console.log(
      `${method} frontier of ${[...targets][0]} over ${points.length} candidates from ${runs.length} run(s):`,
    );
    console.log(`  ${'target'.padStart(9)}  ${'xent'.padStart(6)}  prompt`);
    for (const r of rows)
      console.log(
        `  ${r.target.toFixed(3).padStart(9)}  ${r.xent.toFixed(3).padStart(6)}  ${promptText(await modelOf(r.run), r.ids, 90)}`,
      );
  },
};
