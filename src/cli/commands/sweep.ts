import type { ParseArgsConfig } from 'node:util';
import { corpusSize } from '../../data/corpus.ts';
import { DEFAULT_MODEL } from '../../io/resolve.ts';
import { loadModel } from '../../models/load.ts';
import { featureLabel, sweepTable, winsLine } from '../../report/sweep-table.ts';
import { storePath } from '../../store/database.ts';
import { findSweep, sweepFeatures, type SweepRow } from '../../store/sweeps.ts';
import { checkQueueUrl, maskUrl } from '../../sweep/redis.ts';
import { DEFAULT_SWEEP_OPTIONS, resumeSweep, sweep, type SweepProgress } from '../../sweep/sweep.ts';
import { UsageError, type Command } from '../command.ts';
import { numberOption } from '../numbers.ts';
import { duration } from '../progress.ts';
import { cliStore, modelSha256, STORE_HELP, STORE_OPTION } from '../runs.ts';
import { checkNewRun, epoOptions, OPTIONS, optionLines, wrap } from './dream-options.ts';

/** The dream options a sweep passes to each of its dreams: those that set an EPO option. */
const DREAM_OPTIONS = OPTIONS.filter((o) => o.key !== undefined);

const usage = `Usage: reverie sweep [--model M] --target SET --corpus FILE… [--jobs N | --queue URL] [--time-limit S] [dream options]
       reverie sweep --resume SWEEP [--jobs N | --queue URL]
       reverie sweep --show SWEEP [--json]

Dreams every feature of a set: one multi-feature scan of the corpus finds each feature's top dataset
examples (windows of the dreams' --seq-len), then a dream per feature runs on --jobs worker processes, its
best dream is attributed, and it is compared with the feature's examples as in the paper: the dream wins
where a candidate at most as perplexing as the median top example out-activates the best example. Each
finished feature is in the store (--store) at once; a sweep killed at any moment goes on with --resume,
re-running no finished feature. --show prints the table and the count of wins.

Feature sets: HOOK[*], HOOK[a:b], HOOK[i,j,k] (also @P), and sae:DIR[*] etc., e.g. blocks.2.mlp.hook_post[0:172]

Options:
  -m, --model M        path or hub id (default ${DEFAULT_MODEL})
  -t, --target SET     the feature set
  -c, --corpus FILE    a corpus file for the scan; repeat for several (or list them after the options)
      --top K          dataset examples kept per feature (default ${DEFAULT_SWEEP_OPTIONS.top})
      --max-tokens N   scan at most N corpus tokens (default: the whole corpus)
      --jobs N         worker processes (default: the cores over the dreams' threads; 2 single-thread
                       dreams on 2 cores for stories260K)
      --queue URL      run the dreams as jobs on a Redis queue (BullMQ) for \`reverie worker\`s on any machine
                       to take: redis://[:PASSWORD@]HOST:PORT[/DB], rediss://… for TLS; this process
                       scans, follows the jobs and alone writes their results to the store
      --name NAME      name the sweep (its id works as well)
      --resume SWEEP   go on with a sweep (id or name): its scan if it has none, then every feature not
                       finished (a dream cut short goes on from its last iteration)
      --show SWEEP     print the sweep's table; with --json, its rows as JSON
      --json           with --show
${STORE_HELP}

Each dream's options (as reverie dream; --time-limit S is per dream):
${optionLines(DREAM_OPTIONS).join('\n')}`;

type ParseArgsOptions = NonNullable<ParseArgsConfig['options']>;

/** The live display: a status line (redrawn on a terminal), a line per finished feature. */
class SweepView {
  private last = 0;
  private lastScan = 0;
  constructor(private readonly stream: NodeJS.WriteStream = process.stderr) {}

  update(p: SweepProgress): void {
    const tty = this.stream.isTTY === true;
    if (p.phase === 'scan') {
      const now = performance.now();
      if (now - this.lastScan < (tty ? 200 : 5000) || !p.scan) return;
      this.lastScan = now;
      const s = p.scan;
      const share = s.totalBytes > 0 ? s.bytesRead / s.totalBytes : 1;
      const bounded = s.maxTokens ? Math.max(share, s.tokensScanned / s.maxTokens) : share;
      this.status(
        `scan ${(Math.min(1, bounded) * 100).toFixed(0)}%  ${s.tokensScanned.toLocaleString('en-US')} tokens  ` +
          `${Math.round(s.tokensScanned / Math.max(s.seconds, 1e-9)).toLocaleString('en-US')} tokens/s`,
        tty,
      );
      return;
    }
    if (p.done) {
      const { target, result, error } = p.done;
      const text = result
        ? result.bestDream
          ? `dream ${result.bestDream.activation.toFixed(3)} vs top example ${result.topExample.activation.toFixed(3)} ` +
            `(${(result.margin as number) >= 0 ? '+' : ''}${(result.margin as number).toFixed(3)})${result.win ? ' win' : ''}`
          : `no dream as fluent as the median example (top example ${result.topExample.activation.toFixed(3)})`
        : `failed: ${error}`;
      const where =
        p.done.worker === undefined
          ? ''
          : ` [${p.done.worker}${p.done.resumedFrom ? `, resumed at iteration ${p.done.resumedFrom}` : ''}]`;
      if (tty) this.stream.write('\r\x1b[2K');
      this.stream.write(`${target}: ${text}${where}\n`);
      this.last = 0;
    }
    const now = performance.now();
    if (!p.done && now - this.last < (tty ? 200 : 10_000)) return;
    this.last = now;
    const rate = p.dreamSeconds > 0 ? (60 * p.finishedNow) / p.dreamSeconds : 0;
    const running = p.running.map((r) => `${featureLabel(r.target)}:${r.iter}/${r.total}`).join(' ');
    this.status(
      `sweep ${p.sweepId}: ${p.finished}/${p.features} features  wins ${p.wins}  ` +
        `${rate.toFixed(1)} dreams/min  ETA ${p.eta === undefined ? '—' : duration(p.eta)}` +
        (running ? `  running ${running}` : ''),
      tty,
    );
  }

  private status(line: string, tty: boolean): void {
    if (tty) this.stream.write(`\r\x1b[2K${line.slice(0, (this.stream.columns ?? 120) - 1)}`);
    else this.stream.write(`${line}\n`);
  }

  end(): void {
    if (this.stream.isTTY) this.stream.write('\n');
  }
}

function show(values: Record<string, unknown>, ref: string): void {
  const db = cliStore(values, false);
  try {
    const row = findSweep(db, ref);
    const features = sweepFeatures(db, row.id);
    if (values.json) console.log(JSON.stringify({ sweep: row, features }, null, 1));
    else for (const line of sweepTable(row, features)) console.log(line);
  } finally {
    db.close();
  }
}

export const sweepCommand: Command = {
  name: 'sweep',
  summary: 'dream every feature of a layer (or SAE): one multi-feature scan, a dream each, the table of wins',
  usage,
  allowPositionals: true,
  options: {
    ...(Object.fromEntries(
      DREAM_OPTIONS.map((o) => [o.name, { type: o.kind === 'flag' ? 'boolean' : 'string' }]),
    ) as ParseArgsOptions),
    model: { type: 'string', short: 'm' },
    target: { type: 'string', short: 't' },
    corpus: { type: 'string', short: 'c', multiple: true },
    top: { type: 'string' },
    'max-tokens': { type: 'string' },
    jobs: { type: 'string' },
    queue: { type: 'string' },
    name: { type: 'string' },
    resume: { type: 'string' },
    show: { type: 'string' },
    json: { type: 'boolean' },
    ...STORE_OPTION,
  },
  async run(values, positionals) {
    if (values.show !== undefined) return show(values, values.show as string);
    const resume = values.resume as string | undefined;
    const jobs = values.jobs === undefined ? undefined : numberOption(values, 'jobs', 1, { usage, min: 1 });
    const given = [
      ...DREAM_OPTIONS.map((o) => o.name),
      'model',
      'target',
      'corpus',
      'top',
      'max-tokens',
      'name',
    ];
    const store = storePath(values.store as string | undefined);
    let interrupted = false;
    const onSignal = () => {
      if (interrupted) process.exit(130);
      interrupted = true;
      process.stderr.write(
        values.queue === undefined
          ? "\nstopping after the dreams' current iterations (again to quit at once)…\n"
          : '\nstopping: the jobs stay on the queue for the workers, --resume collects them (again to quit at once)…\n',
      );
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    const view = new SweepView();
    const queue = values.queue === undefined ? undefined : checkQueueUrl(values.queue as string);
    if (queue !== undefined && jobs !== undefined)
      throw new UsageError(
        '--jobs sets local worker processes; with --queue, start `reverie worker`s instead',
      );
    let queued = false;
    const common = {
      store,
      ...(jobs !== undefined && { jobs }),
      ...(queue !== undefined && { queue }),
      onProgress: (p: SweepProgress) => {
        if (queue !== undefined && p.phase === 'dream' && !queued) {
          queued = true;
          process.stderr.write(
            `sweep ${p.sweepId}: ${p.features - p.finished} job(s) on the queue ${maskUrl(queue)}, ` +
              'for `reverie worker --queue URL` on any machine to take\n',
          );
        }
        view.update(p);
      },
      shouldStop: () => interrupted,
    };
    let row: SweepRow;
    try {
      if (resume !== undefined) {
        const extra = given.filter((name) => values[name] !== undefined);
        if (extra.length > 0 || positionals.length > 0)
          throw new UsageError(
            `--resume ${resume} goes on as the sweep was asked: drop ${[...extra.map((n) => `--${n}`), ...positionals].join(', ')} (only --jobs, --queue and --store apply)`,
          );
        const db = cliStore(values, false);
        const stored = (() => {
          try {
            return findSweep(db, resume);
          } finally {
            db.close();
          }
        })();
        if (stored.queue !== null && queue === undefined)
          throw new UsageError(
            `sweep ${stored.id} ran its dreams on the queue ${stored.queue.url}: give it again (--queue URL) to collect them`,
          );
        process.stderr.write(
          `sweep ${stored.id} in ${store}: ${stored.finished} of ${stored.features} features finished, going on` +
            `${queue === undefined ? '' : ` (queue ${maskUrl(queue)})`}\n`,
        );
        const model = await loadModel(stored.spec.model.id);
        row = await resumeSweep({ ...common, sweep: stored.id, model });
      } else {
        const target = values.target as string | undefined;
        if (target === undefined) throw new UsageError(`--target is required (a feature set)\n\n${usage}`);
        const corpus = [...((values.corpus as string[] | undefined) ?? []), ...positionals];
        if (corpus.length === 0) throw new UsageError(`name at least one --corpus file\n\n${usage}`);
        corpus.forEach(corpusSize);
        const options = epoOptions(values, usage);
        const top = numberOption(values, 'top', DEFAULT_SWEEP_OPTIONS.top, { usage, min: 1 });
        const maxTokens =
          values['max-tokens'] === undefined
            ? undefined
            : numberOption(values, 'max-tokens', 0, { usage, min: 1 });
        const modelRef = (values.model as string | undefined) ?? DEFAULT_MODEL;
        const model = await loadModel(modelRef);
        checkNewRun(options, model);
        row = await sweep({
          ...common,
          model,
          modelRef,
          modelSha256: await modelSha256(modelRef),
          target,
          corpus,
          top,
          ...(maxTokens !== undefined && { maxTokens }),
          options,
          ...(values.name !== undefined && { name: values.name as string }),
        });
      }
    } finally {
      view.end();
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
    }
    const db = cliStore(values, false);
    try {
      for (const line of sweepTable(row, sweepFeatures(db, row.id))) console.log(line);
    } finally {
      db.close();
    }
    process.stderr.write(
      `${wrap(
        `sweep ${row.id} in ${store}: ${row.status}, ${winsLine(row)}, ${duration(row.seconds)}` +
          (row.status === 'finished' ? '' : ` (go on: reverie sweep --resume ${row.id})`),
      ).join('\n')}\n`,
    );
  },
};
