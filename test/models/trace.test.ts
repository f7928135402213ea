import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { UsageError } from '../../src/cli/command.ts';
import { traceCommand, type Trace } from '../../src/cli/commands/trace.ts';
import { UnknownHookError } from '../../src/models/index.ts';

const dir = '../shared/fixtures/gpt2-tiny-random';
const ref = JSON.parse(readFileSync(`${dir}/reference.json`, 'utf8')) as {
  sequences: {
    ids: number[];
    logits: number[][];
    nll_per_position: number[];
    mlp_post_layer1_last: number[];
  }[];
};
const seq = ref.sequences[0]!;

/** Runs `reverie trace` in process and returns what it printed. */
async function trace(values: Record<string, unknown>): Promise<string> {
  const log = vi.spyOn(console, 'log').mockImplementation(() => {});
  await traceCommand.run({ threads: '1', ...values }, []);
  return log.mock.calls.map((c) => c.join(' ')).join('\n');
}

afterEach(() => vi.restoreAllMocks());

describe('reverie trace', () => {
  it('--json gives the tokens, per-position cross-entropy, last logits and hooks as [position][feature]', async () => {
    const printed = await trace({
      model: dir,
      ids: seq.ids.join(','),
      hooks: 'blocks.1.mlp.hook_post,blocks.0.attn.hook_pattern',
      json: true,
    });
    const out = JSON.parse(printed) as Trace;
    expect(out.tokens).toEqual(seq.ids.map((id) => ({ id, text: null })));
    expect(out.xent).toHaveLength(11);
    out.xent.forEach((x, t) => expect(x).toBeCloseTo(seq.nll_per_position[t]!, 4));
    out.logits_last.forEach((l, v) => expect(l).toBeCloseTo(seq.logits[11]![v]!, 4));
    const post = out.hooks['blocks.1.mlp.hook_post']!;
    expect(post).toHaveLength(12);
    post[11]!.forEach((x, i) => expect(x).toBeCloseTo(seq.mlp_post_layer1_last[i]!, 4));
    const pattern = out.hooks['blocks.0.attn.hook_pattern']!; // [query][head·T + key]
    expect(pattern[0]!.filter((_, j) => j % 12 === 0)).toEqual([1, 1, 1, 1]);
  });

  it('prints a readable table of a prompt with its top next tokens', async () => {
    const printed = await trace({ prompt: 'Once upon a time', hooks: 'blocks.0.hook_resid_post', top: '3' });
    expect(printed).toContain('" Once"');
    expect(printed).toContain('top 3 next tokens after position 4');
    expect(printed).toMatch(/1\.\s+432\s+","/);
    expect(printed).toContain('blocks.0.hook_resid_post [5 positions × 64]');
  });

  it('rejects an unknown hook, naming the nearest one', async () => {
    await expect(trace({ model: dir, ids: '1,2,3', hooks: 'blocks.1.mlp.hook_psot' })).rejects.toThrow(
      UnknownHookError,
    );
  });

  it('needs exactly one of --prompt and --ids, and ids inside the vocabulary', async () => {
    await expect(trace({ model: dir })).rejects.toThrow(UsageError);
    await expect(trace({ model: dir, prompt: 'a', ids: '1' })).rejects.toThrow(UsageError);
    await expect(trace({ model: dir, ids: '1,512' })).rejects.toThrow(/\[0, 512\), got "512"/);
    await expect(trace({ model: dir, prompt: 'hello' })).rejects.toThrow(/no tokenizer/);
  });
});
