/** Hand-made run summaries and scans for the report and compare tests. */
import type { ScanResult } from '../../src/data/scan.ts';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_EPO_OPTIONS } from '../../src/dream/options.ts';
import type { RunSummary } from '../../src/dream/records.ts';

/** A run summary with the given frontier, [target, xent, text] each, and no iterations. */
export function fakeRun(frontier: [number, number, string][], over: Partial<RunSummary> = {}): RunSummary {
  return {
    version: 1,
    model: { id: 'karpathy/tinyllamas/stories260K', sha256: 'x' },
    target: 'blocks.4.mlp.hook_post[0]',
    options: { ...DEFAULT_EPO_OPTIONS, seqLen: 12 },
    seed: 0,
    bos: 1,
    evaluation: 'incremental',
    iterations: 0,
    seconds: 0,
    evaluations: 0,
    dropped: 0,
    population: [],
    frontier: frontier.map(([target, xent, text]) => ({ target, xent, text, ids: [] })),
    ...over,
  };
}

/** An exported run folder (reverie export's files) holding a summary without iterations. */
export function writeFakeRun(dir: string, summary: RunSummary): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'run.json'), JSON.stringify(summary));
  writeFileSync(join(dir, 'history.jsonl'), '');
  return dir;
}

/** A scan with the given examples, [activation, xent, text] each. */
export function fakeScan(examples: [number, number, string][], over: Partial<ScanResult> = {}): ScanResult {
  return {
    model: 'karpathy/tinyllamas/stories260K',
    target: 'blocks.4.mlp.hook_post[0]',
    window: 12,
    bos: 1,
    corpus: ['c.txt'],
    documents: 1,
    tokensScanned: 100,
    windows: 89,
    seconds: 1,
    examples: examples.map(([activation, xent, text], i) => ({
      text,
      ids: [i],
      activation,
      xent,
      source: { file: 'c.txt', document: 0, token: i },
    })),
    ...over,
  };
}
