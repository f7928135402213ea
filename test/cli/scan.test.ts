import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { UsageError } from '../../src/cli/command.ts';
import { scanCommand } from '../../src/cli/commands/scan.ts';
import { traceCommand, type Trace } from '../../src/cli/commands/trace.ts';
import { BinaryCorpusError, CorpusNotFoundError, EmptyCorpusError } from '../../src/data/corpus.ts';
import type { DocumentExample, FeatureScanResult } from '../../src/data/feature-scan.ts';
import type { ScanResult } from '../../src/data/scan.ts';

const dir = mkdtempSync(join(tmpdir(), 'reverie-cli-scan-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const corpus = join(dir, 'stories.txt');
writeFileSync(
  corpus,
  [
    'Once upon a time, there was a little girl named Lily. She loved to play outside.',
    'Tom gave the bird some seeds. The bird said, "Thank you, Tom!" and flew away.',
    'Mom smiled and said, "Thank you for helping me." Lily was happy.',
  ].join('\n\n'),
);

/** Runs a command in process; what it printed on stdout, and on stderr. */
async function run(command: typeof scanCommand, values: Record<string, unknown>, positionals: string[] = []) {
  const log = vi.spyOn(console, 'log').mockImplementation(() => {});
  const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    await command.run({ threads: '1', ...values }, positionals);
    return {
      stdout: log.mock.calls.map((c) => c.join(' ')).join('\n'),
      stderr: err.mock.calls.map((c) => String(c[0])).join(''),
    };
  } finally {
    vi.restoreAllMocks();
  }
}

describe('reverie scan', () => {
  it('writes the top examples, highest activation first, and reports tokens/s on stderr', async () => {
    const out = join(dir, 'scan.json');
    const { stdout, stderr } = await run(scanCommand, {
      target: 'blocks.4.mlp.hook_post[0]',
      corpus: [corpus],
      top: '5',
      out,
    });
    expect(stderr).toMatch(/scan \[█+\] 100% {2}\d+ tokens {2}[\d,]+ tokens\/s/);
    const scan = JSON.parse(readFileSync(out, 'utf8')) as ScanResult;
    expect(scan).toMatchObject({
      model: 'karpathy/tinyllamas/stories260K',
      window: 12,
      bos: 1,
      documents: 3,
    });
    expect(scan.examples).toHaveLength(5);
    const activations = scan.examples.map((e) => e.activation);
    expect(activations).toEqual([...activations].sort((a, b) => b - a));
    expect(stdout).toContain('top 5 examples of blocks.4.mlp.hook_post[0]');
    expect(stdout).toContain(JSON.stringify(scan.examples[0]!.text));
  });

  it('scores a window as `reverie trace --ids` does on BOS + the window', async () => {
    const out = join(dir, 'scan2.json');
    await run(scanCommand, { target: 'blocks.2.mlp.hook_post[7]', top: '3', window: '8', out }, [corpus]);
    const scan = JSON.parse(readFileSync(out, 'utf8')) as ScanResult;
    for (const example of scan.examples) {
      const { stdout } = await run(traceCommand, {
        ids: [1, ...example.ids].join(','),
        hooks: 'blocks.2.mlp.hook_post',
        json: true,
      });
      const trace = JSON.parse(stdout) as Trace;
      const hook = trace.hooks['blocks.2.mlp.hook_post']!;
      expect(example.activation).toBeCloseTo(hook[hook.length - 1]![7]!, 5);
      expect(example.xent).toBeCloseTo(trace.xent.reduce((a, b) => a + b, 0) / trace.xent.length, 5);
    }
  });

  it('fails with a named error on a missing, empty or binary corpus, writing nothing', async () => {
    const out = join(dir, 'never.json');
    const empty = join(dir, 'empty.txt');
    const binary = join(dir, 'weights.bin');
    writeFileSync(empty, '');
    writeFileSync(binary, Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x00, 0x00]));
    const target = 'blocks.4.mlp.hook_post[0]';
    await expect(run(scanCommand, { target, corpus: [join(dir, 'missing.txt')], out })).rejects.toThrow(
      CorpusNotFoundError,
    );
    await expect(run(scanCommand, { target, corpus: [empty], out })).rejects.toThrow(EmptyCorpusError);
    await expect(run(scanCommand, { target, corpus: [corpus, binary], out })).rejects.toThrow(
      BinaryCorpusError,
    );
    expect(existsSync(out)).toBe(false);
  });

  it('needs a target and a corpus', async () => {
    await expect(run(scanCommand, { corpus: [corpus] })).rejects.toThrow(UsageError);
    await expect(run(scanCommand, { target: 'blocks.4.mlp.hook_post[0]' })).rejects.toThrow(/--corpus/);
    await expect(
      run(scanCommand, { target: 'blocks.4.mlp.hook_post[0]', corpus: [corpus], top: '0' }),
    ).rejects.toThrow(/at least 1/);
  });

  it('scans a feature set in one pass: a line per feature, the result in the store and in --out', async () => {
    const out = join(dir, 'features.json');
    const { stdout, stderr } = await run(scanCommand, {
      target: 'blocks.2.mlp.hook_post[0:3]',
      corpus: [corpus],
      top: '4',
      window: '8',
      out,
    });
    expect(stderr).toMatch(/feature scan \d+ in /);
    const scan = JSON.parse(readFileSync(out, 'utf8')) as FeatureScanResult;
    expect(scan).toMatchObject({
      target: 'blocks.2.mlp.hook_post[0:3]',
      context: 'window',
      window: 8,
      bos: 1,
    });
    expect(scan.features.map((f) => f.target)).toEqual([0, 1, 2].map((i) => `blocks.2.mlp.hook_post[${i}]`));
    for (const f of scan.features) {
      expect(f.examples).toHaveLength(4);
      expect(f.stats.max).toBe(f.examples[0]!.activation);
    }
    expect(stdout).toContain('3 features of blocks.2.mlp.hook_post[0:3]');
    expect(stdout.split('\n').filter((l) => /^ {2}[012] /.test(l))).toHaveLength(3);
  });

  it("scans documents with --context document, marking each example's max token", async () => {
    const { stdout } = await run(scanCommand, {
      target: 'blocks.2.mlp.hook_post[7]',
      corpus: [corpus],
      context: 'document',
      ctx: '16',
      top: '2',
      json: true,
    });
    const scan = JSON.parse(stdout) as FeatureScanResult;
    expect(scan).toMatchObject({ context: 'document', ctx: 16, target: 'blocks.2.mlp.hook_post[7]' });
    const [top] = scan.features[0]!.examples as DocumentExample[];
    expect(top!.activations[top!.at]).toBe(top!.activation);
    const table = await run(scanCommand, {
      target: 'blocks.2.mlp.hook_post[7]',
      corpus: [corpus],
      context: 'document',
      top: '1',
    });
    expect(table.stdout).toMatch(/⟦.+⟧/);
  });

  it('names what --context and --ctx take', async () => {
    const target = 'blocks.2.mlp.hook_post[*]';
    await expect(run(scanCommand, { target, corpus: [corpus], context: 'page' })).rejects.toThrow(
      /--context must be window or document, got "page"/,
    );
    await expect(run(scanCommand, { target, corpus: [corpus], ctx: '32' })).rejects.toThrow(
      /--ctx is the chunk length of --context document/,
    );
    await expect(
      run(scanCommand, { target, corpus: [corpus], context: 'document', ctx: 'x' }),
    ).rejects.toThrow(/--ctx must be/);
    await expect(
      run(scanCommand, { target, corpus: [corpus], context: 'document', window: '8' }),
    ).rejects.toThrow(UsageError);
  });
});
