/** The store's commands: ls, show, rm, export, import. */
import { existsSync } from 'node:fs';
import { promptKey } from '../../dream/epo.ts';
import { storePath } from '../../store/database.ts';
import { StoreError } from '../../store/errors.ts';
import { checkExportDir, readRunFolder, writeRunFolder } from '../../store/files.ts';
import { listScans } from '../../store/results.ts';
import { importRun, listRuns, removeRun, type RunRow } from '../../store/runs.ts';
import { listFeatureScans } from '../../store/feature-scans.ts';
import { listSweeps, removeSweep, sweepRunIds } from '../../store/sweeps.ts';
import { winsLine } from '../../report/sweep-table.ts';
import { UsageError, type Command } from '../command.ts';
import { cliRunReader, cliStore, STORE_HELP, STORE_OPTION } from '../runs.ts';

const one = (positionals: string[], usage: string, what = 'ID'): string => {
  if (positionals.length !== 1)
    throw new UsageError(`expected one ${what}, got ${positionals.length}\n\n${usage}`);
  return positionals[0] as string;
};

const runLabel = (r: RunRow) => (r.name === null ? String(r.id) : `${r.id} ${r.name}`);

const lsUsage = `Usage: reverie ls [--all] [--json] [--store PATH]

Lists the store's runs (newest first: id and name, status, model, target, iterations, best target), scans,
multi-feature scans and sweeps. A sweep's dreams are runs too; they are listed with --all.

Options:
      --all          list the sweeps' runs too
      --json         print {runs, scans, featureScans, sweeps} as JSON (every run)
${STORE_HELP}`;

export const lsCommand: Command = {
  name: 'ls',
  summary: "list the store's runs, scans and sweeps",
  usage: lsUsage,
  options: { all: { type: 'boolean' }, json: { type: 'boolean' }, ...STORE_OPTION },
  async run(values) {
    const path = storePath(values.store as string | undefined);
    if (!existsSync(path)) {
      if (values.json) console.log(JSON.stringify({ runs: [], scans: [], featureScans: [], sweeps: [] }));
      else console.log(`no store at ${path} yet: reverie dream makes one`);
      return;
    }
    const db = cliStore(values, false);
    try {
      const runs = listRuns(db);
      const scans = listScans(db);
      const featureScans = listFeatureScans(db);
      const sweeps = listSweeps(db);
      if (values.json) {
        console.log(JSON.stringify({ runs, scans, featureScans, sweeps }));
        return;
      }
      const ofSweeps = sweepRunIds(db);
      const shown = values.all ? runs : runs.filter((r) => !ofSweeps.has(r.id));
      const hidden = runs.length - shown.length;
      console.log(
        `${path}: ${runs.length} run(s)${hidden > 0 ? ` (${hidden} of sweeps: --all lists them)` : ''}, ` +
          `${scans.length + featureScans.length} scan(s), ${sweeps.length} sweep(s)`,
      );
      if (shown.length > 0) {
        console.log(
          `  ${'run'.padEnd(16)} ${'status'.padEnd(11)} ${'iters'.padStart(6)} ${'best'.padStart(8)}  model  target`,
        );
        for (const r of shown)
          console.log(
            `  ${runLabel(r).padEnd(16)} ${r.status.padEnd(11)} ${String(r.iterations).padStart(6)} ` +
              `${(r.bestTarget?.toFixed(3) ?? '—').padStart(8)}  ${r.model.id}  ${r.target}`,
          );
      }
      for (const s of scans)
        console.log(
          `  scan ${s.id}: ${s.target} on ${s.model}, ${s.examples} examples, top ${s.topActivation?.toFixed(3) ?? '—'}`,
        );
      for (const s of featureScans)
        console.log(
          `  feature scan ${s.id}: ${s.target} on ${s.model}, ${s.features} features, ${s.context} context`,
        );
      for (const s of sweeps)
        console.log(
          `  sweep ${s.name === null ? s.id : `${s.id} ${s.name}`}: ${s.spec.target} on ${s.spec.model.id}, ` +
            `${s.status}, ${winsLine(s)} (reverie sweep --show ${s.id})`,
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
       reverie rm --sweep SWEEP… [--store PATH]

Deletes runs (by id or name) and everything stored with them; with --sweep, sweeps with their scan, their
dreams and attributions. A run or sweep being written is refused.

Options:
      --sweep        the IDs are sweeps
${STORE_HELP}`;

export const rmCommand: Command = {
  name: 'rm',
  summary: 'delete runs or sweeps from the store',
  usage: rmUsage,
  allowPositionals: true,
  options: { sweep: { type: 'boolean' }, ...STORE_OPTION },
  async run(values, positionals) {
    const what = values.sweep ? 'sweep' : 'run';
    if (positionals.length === 0) throw new UsageError(`name at least one ${what}\n\n${rmUsage}`);
    const db = cliStore(values, false);
    try {
      for (const ref of positionals)
        if (values.sweep) {
          const row = removeSweep(db, ref);
          console.log(
            `removed sweep ${row.name === null ? row.id : `${row.id} ${row.name}`} (${row.features} features)`,
          );
        } else console.log(`removed run ${runLabel(removeRun(db, ref))}`);
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
