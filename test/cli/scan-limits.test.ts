import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { UsageError } from '../../src/cli/command.ts';
import { ScanProgressView, scanCommand } from '../../src/cli/commands/scan.ts';
import { OutputPathError } from '../../src/cli/paths.ts';
import { scanCorpus, type ScanProgress } from '../../src/data/scan.ts';
import { DEFAULT_MODEL } from '../../src/io/resolve.ts';
import { loadModel } from '../../src/models/load.ts';
import type { Model } from '../../src/models/model.ts';

const dir = mkdtempSync(join(tmpdir(), 'reverie-cli-scan-limits-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const TARGET = 'blocks.4.mlp.hook_post[0]';
/** One document of ~100k characters: the head of TinyStories' validation split with its blank lines dropped. */
const text = readFileSync('../shared/corpora/tinystories/validation-head.txt', 'utf8')
  .slice(0, 100_000)
  .split('\n')
  .filter((line) => line.trim() !== '')
  .join('\n');
const corpus = join(dir, 'one-document.txt');
writeFileSync(corpus, text);

let model: Model;
beforeAll(async () => {
  model = await loadModel(DEFAULT_MODEL);
});

describe('reverie scan --max-tokens', () => {
  it('stops within a document, at the limit, tokenizing no more of it than that takes', async () => {
    const encode = vi.spyOn(model.tokenizer!, 'encode');
    const scan = await scanCorpus({
      model,
      target: TARGET,
      corpus: [corpus],
      window: 8,
      maxTokens: 200,
      threads: 1,
    });
    const lengths = encode.mock.calls.map(([t]) => t.length);
    encode.mockRestore();
    expect(scan).toMatchObject({ documents: 1, tokensScanned: 200, windows: 193 });
    expect(Math.max(...lengths)).toBeLessThan(text.length / 10);
    const ids = model.tokenizer!.encode(text, { bos: false });
    for (const e of scan.examples) {
      expect(e.source.token + 8).toBeLessThanOrEqual(200);
      expect(e.ids).toEqual(ids.slice(e.source.token, e.source.token + 8));
    }
  });

  it('counts progress in tokens against the limit, with the time left', () => {
    const lines: string[] = [];
    const stream = { isTTY: false, write: (s: string) => lines.push(s) } as unknown as NodeJS.WriteStream;
    const progress: ScanProgress = {
      file: corpus,
      bytesRead: 10,
      totalBytes: 1000,
      tokensScanned: 2500,
      maxTokens: 10_000,
      windows: 2400,
      seconds: 5,
      best: 1.5,
    };
    new ScanProgressView(stream).update(progress, true);
    expect(lines[0]).toMatch(/ 25% {2}2,500\/10,000 tokens {2}500 tokens\/s .* {2}15s left\n$/);
    const { maxTokens: _, ...unlimited } = progress;
    new ScanProgressView(stream).update({ ...unlimited, bytesRead: 500 }, true);
    expect(lines[1]).toMatch(/ 50% {2}2,500 tokens {2}500 tokens\/s .* {2}5s left\n$/);
  });

  it('is a positive integer', async () => {
    await expect(
      scanCommand.run({ target: TARGET, corpus: [corpus], 'max-tokens': '0' }, []),
    ).rejects.toThrow(new RegExp(`^--max-tokens must be an integer of at least 1, got "0"`));
    await expect(
      scanCommand.run({ target: TARGET, corpus: [corpus], 'max-tokens': '1e6' }, []),
    ).rejects.toThrow(UsageError);
  });
});

describe('reverie scan --out', () => {
  it('is checked before the scan starts', async () => {
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      const out = join(dir, 'missing', 'scan.json');
      await expect(scanCommand.run({ target: TARGET, corpus: [corpus], out }, [])).rejects.toThrow(
        new OutputPathError(`--out ${out}: the directory ${join(dir, 'missing')} does not exist`),
      );
      await expect(scanCommand.run({ target: TARGET, corpus: [corpus], out: dir }, [])).rejects.toThrow(
        `--out ${dir}: is a directory, not a file`,
      );
      expect(err).not.toHaveBeenCalled();
    } finally {
      err.mockRestore();
    }
  });
});
