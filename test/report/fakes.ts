/** Hand-made run summaries and scans for the report and compare tests. */
import type { ScanResult } from '../../src/data/scan.ts';
import type { RunSummary } from '../../src/dream/store.ts';

/** A run.json with the given frontier, [target, xent, text] each. */
export function fakeRun(frontier: [number, number, string][], over: Partial<RunSummary> = {}): RunSummary {
  return {
    model: { id: 'karpathy/tinyllamas/stories260K', sha256: 'x' },
    target: 'blocks.4.mlp.hook_post[0]',
    options: { seqLen: 12 },
    bos: 1,
    frontier: frontier.map(([target, xent, text]) => ({ target, xent, text, ids: [] })),
    ...over,
  } as unknown as RunSummary;
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
