import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import type { Command } from '../../src/cli/command.ts';
import { UsageError } from '../../src/cli/command.ts';
import { attributeCommand } from '../../src/cli/commands/attribute.ts';
import type { Attribution } from '../../src/dream/attribution.ts';
import { fakeRun, writeFakeRun } from '../report/fakes.ts';

const dir = mkdtempSync(join(tmpdir(), 'reverie-cli-attribute-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function run(command: Command, values: Record<string, unknown>): Promise<string> {
  const log = vi.spyOn(console, 'log').mockImplementation(() => {});
  vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    await command.run({ threads: '1', ...values }, []);
    return log.mock.calls.map((c) => c.join(' ')).join('\n');
  } finally {
    vi.restoreAllMocks();
  }
}

const TARGET = 'blocks.4.mlp.hook_post[0]';

describe('reverie attribute', () => {
  it('prints the prompt shaded by importance and a table, and writes an HTML page', async () => {
    const html = join(dir, 'attribution.html');
    const printed = await run(attributeCommand, {
      target: TARGET,
      prompt: 'The bird said, "Thank you',
      k: '8',
      html,
    });
    expect(printed).toMatch(
      /^blocks\.4\.mlp\.hook_post\[0\] on karpathy\/tinyllamas\/stories260K: target \d/,
    );
    expect(printed).toContain('(BOS + 12 tokens, 8 gradient-favoured swaps per position)');
    expect(printed).toContain('  [BOS] The| b|ir|d| said|,| "|T|h|an|k| you');
    expect(printed).toMatch(/ {3}11 {2}" you" +█+·* 1\.00 /); // the last token matters most
    const page = readFileSync(html, 'utf8');
    expect(page.match(/class="tok"/g)).toHaveLength(12);
  });

  it('--json gives every position with its swaps; --no-bos drops the BOS; --ids takes token ids', async () => {
    const out = JSON.parse(
      await run(attributeCommand, {
        target: TARGET,
        prompt: 'Thank you',
        k: '4',
        json: true,
        'no-bos': true,
      }),
    ) as Attribution;
    expect(out.bos).toBeNull();
    expect(out.positions.map((p) => p.replacements.length)).toEqual(out.ids.map(() => 4));
    expect(out.positions[0]).toHaveProperty('worst.target');
    const byIds = JSON.parse(
      await run(attributeCommand, { target: TARGET, ids: '403,261', k: '2', json: true }),
    ) as Attribution;
    expect(byIds).toMatchObject({ bos: 1, ids: [403, 261] });
  });

  it('--run attributes the run’s best frontier prompt (--max-xent: the best that fluent) with its target and BOS', async () => {
    const summary = fakeRun([]);
    summary.frontier = [
      { ids: [403, 261], target: 1, xent: 2, text: 'weak' },
      { ids: [491, 300, 301], target: 5, xent: 6, text: 'best' },
    ];
    const runDir = writeFakeRun(join(dir, 'run'), summary);
    const out = JSON.parse(await run(attributeCommand, { run: runDir, k: '2', json: true })) as Attribution;
    expect(out).toMatchObject({ target: TARGET, bos: 1, ids: [491, 300, 301] });
    const fluent = JSON.parse(
      await run(attributeCommand, { run: runDir, 'max-xent': '3', k: '2', json: true }),
    ) as Attribution;
    expect(fluent.ids).toEqual([403, 261]);
    await expect(run(attributeCommand, { run: runDir, 'max-xent': '1' })).rejects.toThrow(
      /no frontier prompt with xent ≤ 1/,
    );
  });

  it('needs exactly one of --prompt, --ids and --run, a target with them, and ids in the vocabulary', async () => {
    await expect(run(attributeCommand, { target: TARGET })).rejects.toThrow(UsageError);
    await expect(run(attributeCommand, { prompt: 'hi', run: dir })).rejects.toThrow(UsageError);
    await expect(run(attributeCommand, { prompt: 'hi' })).rejects.toThrow(/--target is required/);
    await expect(run(attributeCommand, { target: TARGET, ids: '1,512' })).rejects.toThrow(
      /\[0, 512\), got "512"/,
    );
  });
});
