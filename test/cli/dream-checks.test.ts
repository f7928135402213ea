import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkNewRun, epoOptions } from '../../src/cli/commands/dream-options.ts';
import { checkOutputFile, OutputPathError } from '../../src/cli/paths.ts';
import {
  checkAgainstModel,
  OptionsError,
  resolveOptions,
  RUN_MEMORY_BUDGET,
  type EpoOptions,
} from '../../src/dream/options.ts';
import { DEFAULT_MODEL } from '../../src/io/resolve.ts';
import { loadModel } from '../../src/models/load.ts';
import type { Model } from '../../src/models/model.ts';

const dir = mkdtempSync(join(tmpdir(), 'reverie-cli-checks-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = join(dir, 'file.txt');
writeFileSync(file, 'x');

const usage = 'Usage: reverie dream';
let model: Model;
beforeAll(async () => {
  model = await loadModel(DEFAULT_MODEL);
});

describe("a run's memory", () => {
  it('fits the budget at both presets', () => {
    expect(() => resolveOptions({})).not.toThrow();
    expect(() => resolveOptions({ preset: 'dreamy' })).not.toThrow();
    expect(RUN_MEMORY_BUDGET).toBe(2 ** 30);
  });

  it('is refused past the budget, naming each part and the budget', () => {
    expect(() => resolveOptions({ population: 100_000 })).toThrow(OptionsError);
    expect(() => resolveOptions({ population: 100_000 })).toThrow(
      /^the run would hold ~[\d.]+ GiB, more than its 1\.0 GiB: 3,300,000 candidates an iteration \(population × \(childrenPerMember \+ 1\)\) ~1\.8 GiB, up to [\d,]+ kept so that none is evaluated twice .*, 100,000 members' 12 × 512 gradient tokens ~4\.6 GiB$/,
    );
    expect(() => resolveOptions({ childrenPerMember: 1_000_000 })).toThrow(
      /8,000,008 candidates an iteration/,
    );
  });

  it('counts the candidates a long run keeps, up to --max-evaluations where one is set', () => {
    expect(() => resolveOptions({ iters: 100_000 })).toThrow(
      /up to 25,600,008 kept so that none is evaluated twice/,
    );
    expect(() => resolveOptions({ iters: 100_000, maxEvaluations: 1_000_000 })).not.toThrow();
  });

  it('names the options by their flags for the CLI', () => {
    expect(() => epoOptions({ children: '1000000' }, usage)).toThrow(
      /\(--population × \(--children \+ 1\)\).*\(--iters × --population × --children, or --max-evaluations\)/,
    );
    expect(() => epoOptions({ population: '0' }, usage)).toThrow(
      new OptionsError('--population must be a positive integer, got 0'),
    );
    expect(() => epoOptions({ 'penalty-min': '5', 'penalty-max': '1' }, usage)).toThrow(
      'penalties need 0 < --penalty-min ≤ --penalty-max, got 5..1',
    );
  });
});

describe("a run's options against its model", () => {
  const resolved = (partial: Partial<EpoOptions>) => resolveOptions(partial);

  it("keep BOS + the optimized tokens within the model's context", () => {
    expect(model.config.maxPositions).toBe(512);
    expect(() => checkAgainstModel(resolved({ seqLen: 511 }), model.config, 1)).not.toThrow();
    expect(() => checkAgainstModel(resolved({ seqLen: 512 }), model.config, null)).not.toThrow();
    expect(() => checkAgainstModel(resolved({ seqLen: 512 }), model.config, 1)).toThrow(
      new OptionsError(
        "seqLen 512 + BOS = 513 positions, past the model's context of 512 (the max positions of its config); seqLen may be at most 511",
      ),
    );
  });

  it('keep a top-k within the vocabulary', () => {
    expect(() => checkAgainstModel(resolved({ topk: 512 }), model.config, 1)).not.toThrow();
    expect(() => checkAgainstModel(resolved({ topk: 'auto' }), model.config, 1)).not.toThrow();
    expect(() => checkAgainstModel(resolved({ topk: 513 }), model.config, 1)).toThrow(
      "topk 513 is more than the model's vocabulary of 512 tokens",
    );
  });

  it('are checked for a new run, named by flag', () => {
    expect(() => checkNewRun({}, model)).not.toThrow();
    expect(() => checkNewRun({ seqLen: 600 }, model)).toThrow(
      /^--seq-len 600 \+ BOS = 601 positions, past the model's context of 512/,
    );
    expect(() => checkNewRun({ topk: 100_000 }, model)).toThrow(/^--topk 100000 is more than/);
  });

  it('are not checked as a new run when resuming: the stored run fills in the rest', () => {
    expect(epoOptions({ resume: dir, 'penalty-min': '50' }, usage)).toEqual({ penaltyMin: 50 });
  });
});

describe('output paths', () => {
  it('take a file in an existing directory, and name a missing directory or a directory in the way', () => {
    expect(() => checkOutputFile('--out', join(dir, 'scan.json'))).not.toThrow();
    expect(() => checkOutputFile('--out', join(dir, 'missing', 'scan.json'))).toThrow(
      new OutputPathError(
        `--out ${join(dir, 'missing', 'scan.json')}: the directory ${join(dir, 'missing')} does not exist`,
      ),
    );
    expect(() => checkOutputFile('--html', dir)).toThrow(`--html ${dir}: is a directory, not a file`);
    expect(() => checkOutputFile('--out', join(file, 'scan.json'))).toThrow(
      `--out ${join(file, 'scan.json')}: ${file} is a file, not a directory`,
    );
  });
});
