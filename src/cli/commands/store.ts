/** The store's commands: ls, show, rm, export, import. */
import { existsSync } from 'node:fs';
import { promptKey } from '../../dream/epo.ts';
import { storePath } from '../../store/database.ts';
import { StoreError } from '../../store/errors.ts';
import { checkExportDir, readRunFolder, writeRunFolder } from '../../store/files.ts';
import { listScans } from '../../store/results.ts';
import { importRun, listRuns, removeRun, type RunRow } from '../../store/runs.ts';
import { UsageError, type Command } from '../command.ts';
import { cliRunReader, cliStore, STORE_HELP, STORE_OPTION } from '../runs.ts';

const one = (positionals: string[], usage: string, what = 'ID'): string => {
  if (positionals.length !== 1)
    throw new UsageError(`expected one ${what}, got ${positionals.length}\n\n${usage}`);
  return positionals[0] as string;
};

const runLabel = (r: RunRow) => (r.name === null ? String(r.id) : `${r.id} ${r.name}`);

const lsUsage = `Usage: reverie ls [--json] [--store PATH]

Lists the store's runs (newest first: id and name, status, model, target, iterations, best target) and scans.

Options:
      --json         print {runs, scans} as JSON
${STORE_HELP}`;

export const lsCommand: Command = {
  name: 'ls',
  summary: "list the store's runs and scans",
  usage: lsUsage,
  options: { json: { type: 'boolean' }, ...STORE_OPTION },
  async run(values) {
    const path = storePath(values.store as string | undefined);
    if (!existsSync(path)) {
      if (values.json) console.log(JSON.stringify({ runs: [], scans: [] }));
      else console.log(`no store at ${path} yet: reverie dream makes one`);
      return;
    }
    const db = cliStore(values, false);
    try {
      const runs = listRuns(db);
      const scans = listScans(db);
      if (values.json) {
        console.log(JSON.stringify({ runs, scans }));
        return;
      }
      console.log(`${path}: ${runs.length} run(s), ${scans.length} scan(s)`);
      if (runs.length > 0) {
        console.log(
          `  ${'run'.padEnd(16)} ${'status'.padEnd(11)} ${'iters'.padStart(6)} ${'best'.padStart(8)}  model  target`,
        );
        for (const r of runs)
          console.log(
            `  ${runLabel(r).padEnd(16)} ${r.status.padEnd(11)} ${String(r.iterations).padStart(6)} ` +
              `${(r.bestTarget?.toFixed(3) ?? '—').padStart(8)}  ${r.model.id}  ${r.target}`,
          );
      }
      for (const s of scans)
        console.log(
          `  scan ${s.id}: ${s.target} on ${s.model}, ${s.examples} examples, top ${s.topActivation?.toFixed(3) ?? '—'}`,
        );
    } finally {
      db.close();
    }
  },
};

const showUsage = `Usage: reverie show RUN [--json] [--store PATH]

A run's summary: what it is (model, target, options), its status and totals, its population and frontier.
A RUN is a store id or name, or a folder of reverie export.

Options:
      --json         print the summary (run.json's fields) as JSON
${STORE_HELP}`;

export const showCommand: Command = {
  name: 'show',
  summary: "a run's summary: options, status, population and frontier",
  usage: showUsage,
  allowPositionals: true,
  options: { json: { type: 'boolean' }, ...STORE_OPTION },
  async run(values, positionals) {
    const reader = cliRunReader(values);
    try {
      const { label, summary } = await reader.open(one(positionals, showUsage, 'RUN'));
      if (values.json) {
        console.log(JSON.stringify(summary, null, 2));
        return;
      }
      console.log(
        `${label}: ${summary.target} on ${summary.model.id} (sha256 ${summary.model.sha256.slice(0, 12)}…)`,
      );
      console.log(
        `  ${summary.iterations} of ${summary.options.iters} iterations, ${summary.evaluations} evaluations, ` +
          `${summary.seconds.toFixed(1)} s; preset ${summary.options.preset}, seed ${summary.seed}, ` +
          `${summary.evaluation} evaluation`,
      );
      console.log(`  ${'target'.padStart(9)}  ${'xent'.padStart(6)}  frontier prompt`);
      for (const p of summary.frontier)
        console.log(
          `  ${p.target.toFixed(3).padStart(9)}  ${p.xent.toFixed(3).padStart(6)}  ${JSON.stringify(p.text)}`,
        );
    } finally {
      reader.close();
    }
  },
};

const rmUsage = `Usage: reverie rm ID… [--store PATH]

Deletes runs (by id or name) and everything stored with them. A run being written is refused.

Options:
${STORE_HELP}`;

export const rmCommand: Command = {
  name: 'rm',
  summary: 'delete runs from the store',
  usage: rmUsage,
  allowPositionals: true,
  options: { ...STORE_OPTION },
  async run(values, positionals) {
    if (positionals.length === 0) throw new UsageError(`name at least one run\n\n${rmUsage}`);
    const db = cliStore(values, false);
    try {
      for (const ref of positionals) console.log(`removed run ${runLabel(removeRun(db, ref))}`);
    } finally {
      db.close();
    }
  },
};

const exportUsage = `Usage: reverie export RUN --out DIR [--force] [--store PATH]

Writes a run (a store id or name) as files: DIR/run.json (its summary), DIR/history.jsonl (every iteration) and
DIR/checkpoint.json (what a resume needs). DIR must be new or empty, unless --force.

Options:
      --out DIR      the folder to write
      --force        write into a folder that is not empty (replacing the run files there)
${STORE_HELP}`;

export const exportCommand: Command = {
  name: 'export',
  summary: 'write a stored run as files (run.json, history.jsonl, checkpoint.json)',
  usage: exportUsage,
  allowPositionals: true,
  options: { out: { type: 'string' }, force: { type: 'boolean' }, ...STORE_OPTION },
  async run(values, positionals) {
    const ref = one(positionals, exportUsage, 'RUN');
    const out = values.out as string | undefined;
    if (out === undefined) throw new UsageError(`--out DIR is required\n\n${exportUsage}`);
    const force = values.force === true;
    checkExportDir(out, force);
    const reader = cliRunReader(values);
    try {
      const run = await reader.open(ref);
      const written = writeRunFolder(out, { ...run, history: run.history() }, force);
      console.log(`wrote ${written.join(', ')}`);
    } finally {
      reader.close();
    }
  },
};

const importUsage = `Usage: reverie import DIR [--name NAME] [--store PATH]

Adds an exported run (reverie export, or reverie dream --out) to the store as a new run, checking its files;
with its checkpoint.json it can then go on (reverie dream --resume ID).

Options:
      --name NAME    the new run's name
${STORE_HELP}`;

export const importCommand: Command = {
  name: 'import',
  summary: 'add an exported run to the store',
  usage: importUsage,
  allowPositionals: true,
  options: { name: { type: 'string' }, ...STORE_OPTION },
  async run(values, positionals) {
    const dir = one(positionals, importUsage, 'DIR');
    if (!existsSync(dir)) throw new StoreError(`${dir} does not exist: expected a folder of reverie export`);
    const folder = readRunFolder(dir);
    const history = [...folder.history()]; // read and checked in full before anything is stored
    const seen = new Set(history.flatMap((r) => r.candidates.map((c) => promptKey(c.ids))));
    const db = cliStore(values, true);
    try {
      const id = importRun(db, { ...folder, history }, values.name as string | undefined);
      console.log(
        `imported ${dir} as run ${id}: ${folder.summary.target}, ${history.length} iterations, ${seen.size} distinct candidates` +
          (folder.checkpoint ? '' : ' (no checkpoint.json: it can be read, not resumed)'),
      );
    } finally {
      db.close();
    }
  },
};
