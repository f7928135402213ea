import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProgressView } from '../../src/cli/progress.ts';
import { VersusDataset } from '../../src/report/quality.ts';
import type { DreamProgress } from '../../src/dream/run.ts';
import type { RunSummary } from '../../src/dream/records.ts';
import type { Model } from '../../src/models/model.ts';
import { openStore } from '../../src/store/database.ts';
import { findRun } from '../../src/store/runs.ts';

const dir = mkdtempSync(join(tmpdir(), 'reverie-cli-dream-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const reverie = (...args: string[]) =>
  spawnSync(process.execPath, ['bin/reverie.js', ...args], { encoding: 'utf8', timeout: 120_000 });

/** A real scan of the default target on a few thousand tokens of TinyStories, for --against. */
const scanPath = join(dir, 'scan.json');
beforeAll(() => {
  const result = reverie(
    'scan',
    '--target',
    'blocks.4.mlp.hook_post[0]',
    '--corpus',
    '../shared/corpora/tinystories/validation-head.txt',
    '--max-tokens',
    '3000',
    '--top',
    '16',
    '--threads',
    '1',
    '--out',
    scanPath,
  );
  expect(result.status, result.stderr).toBe(0);
});

/** A dream small enough for a test. */
const SMALL_RUN = ['--iters', '10', '--population', '3', '--children', '8'];

describe('reverie dream', () => {
  it('writes run.json and history.jsonl, prints progress lines and the frontier', () => {
    const out = join(dir, 'small');
    const result = reverie('dream', ...SMALL_RUN, '--topk', '32', '--out', out);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/iter 10\/10 .* evals\/s/);
    expect(result.stdout).toMatch(/^frontier of blocks\.4\.mlp\.hook_post\[0\]/);
    expect(result.stdout).toMatch(/^ +-?\d+\.\d{3} +\d+\.\d{3} +".*" → ".+"$/m); // each prompt's next token
    const summary = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as RunSummary;
    expect(summary).toMatchObject({
      version: 1,
      target: 'blocks.4.mlp.hook_post[0]',
      iterations: 10,
      bos: 1,
      seed: 0,
    });
    expect(summary.model.id).toBe('karpathy/tinyllamas/stories260K');
    expect(summary.model.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(summary.frontier.length).toBeGreaterThan(0);
    expect(readFileSync(join(out, 'history.jsonl'), 'utf8').trim().split('\n')).toHaveLength(10);
  });

  it('writes ONNX Runtime profiles of its programs with --profile', () => {
    const out = join(dir, 'profiled');
    const result = reverie('dream', '--iters', '2', '--profile', '--out', out);
    expect(result.status, result.stderr).toBe(0);
    const profiles = readdirSync(out).filter((f) => /^ort-profile_.*\.json$/.test(f));
    expect(profiles).toHaveLength(2); // the gradient and the incremental fitness programs
    for (const file of profiles) {
      const events = JSON.parse(readFileSync(join(out, file), 'utf8')) as { cat: string; name: string }[];
      expect(events.some((e) => e.cat === 'Node' && e.name.endsWith('_kernel_time'))).toBe(true);
    }
  });

  it('stops at the time limit with everything written', () => {
    const out = join(dir, 'timed');
    const result = reverie('dream', '--time-limit', '1', '--out', out);
    expect(result.status, result.stderr).toBe(0);
    const summary = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as RunSummary;
    expect(summary.iterations).toBeLessThan(300);
    expect(readFileSync(join(out, 'history.jsonl'), 'utf8').trim().split('\n')).toHaveLength(
      summary.iterations,
    );
  });

  it('rejects an unknown hook in one line naming the nearest valid one', () => {
    const result = reverie('dream', '--target', 'blocks.2.mlp.hook_pots[3]', '--out', join(dir, 'bad'));
    expect(result.status).toBe(1);
    const errors = result.stderr.split('\n').filter((line) => line.startsWith('reverie:'));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain('did you mean "blocks.2.mlp.hook_post"');
    expect(existsSync(join(dir, 'bad'))).toBe(false);
  });

  it('rejects an out-of-range neuron naming the valid range', () => {
    const result = reverie(
      'dream',
      '--target',
      'blocks.2.mlp.hook_post[999]',
      '--iters',
      '1',
      '--out',
      join(dir, 'bad2'),
    );
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(
      /feature 999 is out of range: blocks\.2\.mlp\.hook_post has features 0\.\.171/,
    );
  });
});

describe('reverie dream --resume', () => {
  const store = join(dir, 'resume.db');
  const iterations = () => {
    const db = openStore(store, { create: false });
    try {
      return findRun(db, 'resumable').iterations;
    } finally {
      db.close();
    }
  };
  beforeAll(() => {
    const result = reverie(
      'dream',
      '--iters',
      '2',
      '--population',
      '3',
      '--children',
      '8',
      '--topk',
      '512',
      '--name',
      'resumable',
      '--store',
      store,
    );
    expect(result.status, result.stderr).toBe(0);
    expect(result.stderr).toContain(`run 1 in ${store}: dreaming blocks.4.mlp.hook_post[0]`);
  });

  it('names a missing run in one line', () => {
    const result = reverie('dream', '--resume', 'missing', '--iters', '1', '--store', store);
    expect(result.status).toBe(1);
    const errors = result.stderr.split('\n').filter((line) => line.startsWith('reverie:'));
    expect(errors).toEqual([
      `reverie: RunNotFoundError: no run named "missing" in ${store} (reverie ls lists them)`,
    ]);
  });

  it("rejects options that contradict the run, naming each with the run's and the given value", () => {
    const result = reverie(
      'dream',
      ...['--resume', 'resumable', '--iters', '1', '--seed', '3', '--population', '4', '--store', store],
    );
    expect(result.status).toBe(2);
    const errors = result.stderr.split('\n').filter((line) => line.startsWith('reverie:'));
    expect(errors).toEqual([
      'reverie: UsageError: --resume resumable: options contradict the stored run: ' +
        '--population (run: 3, given: 4), --seed (run: 0, given: 3); drop them, or start a new run',
    ]);
    expect(iterations()).toBe(2);
  });

  it('accepts options that agree with the run (--topk as asked, before the cap) and per-call ones', () => {
    const out = join(dir, 'resumed-export');
    const result = reverie(
      'dream',
      '--resume',
      '1',
      '--iters',
      '1',
      '--seed',
      '0',
      '--population',
      '3',
      '--children',
      '8',
      '--topk',
      '512', // stories260K's run stored 509: the tokens it may propose
      '--out',
      out,
      '--time-limit',
      '60',
      '--against',
      scanPath,
      '--json',
      '--store',
      store,
    );
    expect(result.status, result.stderr).toBe(0);
    expect((JSON.parse(result.stdout) as RunSummary).options.topk).toBe(509);
    expect(result.stderr).toContain('median dataset cross-entropy'); // the comparison, off stdout with --json
    expect(iterations()).toBe(3);
    expect(readFileSync(join(out, 'history.jsonl'), 'utf8').trim().split('\n')).toHaveLength(3);
  });
});

describe('reverie dream --init-from', () => {
  it("starts slot i from the scan's i-th top example", () => {
    const out = join(dir, 'init-from');
    const result = reverie(
      'dream',
      '--iters',
      '1',
      '--population',
      '3',
      '--children',
      '4',
      '--init-from',
      scanPath,
      '--out',
      out,
    );
    expect(result.status, result.stderr).toBe(0);
    const scan = JSON.parse(readFileSync(scanPath, 'utf8')) as { examples: { ids: number[] }[] };
    const [first] = readFileSync(join(out, 'history.jsonl'), 'utf8').split('\n');
    const parents = (JSON.parse(first!) as { candidates: { ids: number[] }[] }).candidates.slice(0, 3);
    expect(parents.map((c) => c.ids)).toEqual(scan.examples.slice(0, 3).map((e) => e.ids));
  });

  it('rejects a scan of windows of another length, and --initial beside it', () => {
    const short = reverie('dream', '--seq-len', '8', '--init-from', scanPath, '--out', join(dir, 'never'));
    expect(short.status).toBe(2);
    expect(short.stderr).toMatch(/the scan's windows are 12 tokens, --seq-len is 8/);
    const both = reverie('dream', '--initial', 'Once upon a time', '--init-from', scanPath);
    expect(both.status).toBe(2);
    expect(both.stderr).toMatch(/--initial and --init-from both start the run; give one/);
    expect(existsSync(join(dir, 'never'))).toBe(false);
  });
});

describe('reverie dream --against', () => {
  it("shows the best dream at ≤ the scan's median xent in the progress, and prints compare's summary", () => {
    const out = join(dir, 'against');
    const result = reverie(
      'dream',
      ...SMALL_RUN,
      '--initial',
      'Once upon a time, there was a little girl', // 12 fluent tokens: some candidate is below the median
      '--against',
      scanPath,
      '--out',
      out,
    );
    expect(result.status, result.stderr).toBe(0);
    const progress = result.stderr.match(
      /iter 10\/10 .* vs dataset: best ≤ median xent (\d+\.\d{3}): (-?\d+\.\d{3}) \(top example (-?\d+\.\d{3}), ([+-]\d+\.\d{3})\)\n/,
    );
    expect(progress, result.stderr).not.toBeNull();
    const [, medianXent, best, top, margin] = progress as RegExpMatchArray;
    expect(Number(margin)).toBeCloseTo(Number(best) - Number(top), 2);
    // What `reverie compare` prints for this run and scan ends dream's output, with the same numbers.
    const compared = reverie('compare', '--runs', out, '--scan', scanPath);
    expect(compared.status, compared.stderr).toBe(0);
    expect(result.stdout).toMatch(/^frontier of blocks\.4\.mlp\.hook_post\[0\]/);
    expect(result.stdout.endsWith(compared.stdout)).toBe(true);
    expect(compared.stdout).toContain(`top dataset activation        ${top}`);
    expect(compared.stdout).toContain(`median dataset cross-entropy  ${medianXent}`);
    expect(compared.stdout).toMatch(new RegExp(`best dream at xent ≤ ${medianXent} +${best} `));
  });

  it('rejects a scan of another target or model before dreaming, with a named error', () => {
    const out = join(dir, 'against-other');
    const result = reverie(
      'dream',
      '--target',
      'blocks.4.mlp.hook_post[1]',
      '--against',
      scanPath,
      '--out',
      out,
    );
    expect(result.status).toBe(1);
    expect(result.stderr).not.toContain('dreaming');
    expect(result.stderr.trim().split('\n')).toEqual([
      `reverie: CompareError: --against ${scanPath}: the scan scored blocks.4.mlp.hook_post[0], ` +
        "this run dreams blocks.4.mlp.hook_post[1]; scan blocks.4.mlp.hook_post[1], or dream the scan's target",
    ]);
    expect(existsSync(out)).toBe(false);

    const otherModel = join(dir, 'scan-other-model.json');
    writeFileSync(
      otherModel,
      JSON.stringify({ ...JSON.parse(readFileSync(scanPath, 'utf8')), model: 'gpt2' }),
    );
    const model = reverie('dream', '--against', otherModel, '--out', out);
    expect(model.status).toBe(1);
    expect(model.stderr).toMatch(
      /^reverie: CompareError: .*the scan used model gpt2, this run karpathy\/tinyllamas\/stories260K/m,
    );
    expect(existsSync(out)).toBe(false);

    const missing = reverie('dream', '--against', join(dir, 'nope.json'), '--out', out);
    expect(missing.stderr).toMatch(/^reverie: CompareError: cannot read the scan/m);
  });

  it('shows the comparison as a line of the block redrawn on a terminal', () => {
    const written: string[] = [];
    const stream = { isTTY: true, write: (s: string) => written.push(s) } as unknown as NodeJS.WriteStream;
    const versus = new VersusDataset(3.5, 5);
    const view = new ProgressView({ id: 'fake' } as Model, stream, 10, versus);
    const member = { ids: [1, 2], target: 4, xent: 3, penalty: 1 };
    const progress = (candidates: { target: number; xent: number }[]) =>
      ({
        record: { iter: 0, candidates, dropped: 0 },
        state: { population: [member], evaluations: candidates.length },
        total: 10,
        evaluationsPerSecond: 100,
      }) as unknown as DreamProgress;
    view.update(progress([{ target: 9, xent: 4 }]));
    expect(written.join('')).toContain('vs dataset: best ≤ median xent 3.500: — (top example 5.000)');
    view.update(
      progress([
        { target: 5.25, xent: 3.5 },
        { target: 4, xent: 1 },
      ]),
    );
    expect(written.at(-1)).toContain(
      'vs dataset: best ≤ median xent 3.500: 5.250 (top example 5.000, +0.250)',
    );
    view.update(progress([{ target: 2, xent: 2 }]));
    expect(versus.best).toBe(5.25); // the best so far
  });
});
