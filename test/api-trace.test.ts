import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { traceCommand } from '../src/cli/commands/trace.ts';
import { loadModel } from '../src/models/load.ts';
import type { Model } from '../src/models/model.ts';
import { trace, TraceError } from '../src/models/trace.ts';

let model: Model;
beforeAll(async () => {
  model = await loadModel('karpathy/tinyllamas/stories260K');
});
afterEach(() => vi.restoreAllMocks());

/** What `reverie trace` prints, run in process. */
async function cli(values: Record<string, unknown>): Promise<string> {
  const log = vi.spyOn(console, 'log').mockImplementation(() => {});
  await traceCommand.run({ threads: '1', ...values }, []);
  return log.mock.calls.map((c) => c.join(' ')).join('\n');
}

describe('trace(), the library’s run_with_cache', () => {
  it('returns exactly what reverie trace --json prints', async () => {
    const hooks = ['blocks.1.mlp.hook_post', 'blocks.0.attn.hook_pattern'];
    const printed = JSON.parse(await cli({ prompt: 'Once upon a time', hooks: hooks.join(','), json: true }));
    const traced = await trace(model, 'Once upon a time', { hooks, threads: 1 });
    expect(JSON.parse(JSON.stringify(traced))).toEqual(printed);
    expect(traced.tokens.map((t) => t.text)).toEqual(['<s>', ' Once', ' upon', ' a', ' time']);
    expect(traced.xent).toHaveLength(4);
    expect(traced.hooks['blocks.1.mlp.hook_post']).toHaveLength(5);
  });

  it('puts a BOS before text where the tokenizer adds one, runs ids as given, and both as asked', async () => {
    const ids = model.tokenizer!.encode('Once upon a time', { bos: false });
    const ofText = await trace(model, 'Once upon a time', { bos: false, threads: 1 });
    expect(ofText.tokens.map((t) => t.id)).toEqual(ids);
    const ofIds = await trace(model, ids, { threads: 1 });
    expect(ofIds).toEqual(ofText);
    const withBos = await trace(model, ids, { bos: true, threads: 1 });
    expect(withBos.tokens.map((t) => t.id)).toEqual([1, ...ids]);
  });

  it('names what is wrong with a prompt', async () => {
    await expect(trace(model, [])).rejects.toThrow(TraceError);
    await expect(trace(model, [1, 512])).rejects.toThrow(/integers in \[0, 512\), got 512/);
    await expect(trace(model, Array(600).fill(5))).rejects.toThrow(/exceed the model's 512 positions/);
    const bare = await loadModel('../shared/fixtures/gpt2-tiny-random');
    await expect(trace(bare, 'hello')).rejects.toThrow(/no tokenizer/);
    await expect(trace(model, [5], { hooks: ['blocks.1.mlp.hook_psot'] })).rejects.toThrow(/did you mean/);
  });

  it('prints the prompt with its token boundaries, and plain with --plain', async () => {
    expect(await cli({ prompt: 'Once upon a time' })).toContain('  [BOS] "Once| upon| a| time"');
    expect(await cli({ prompt: 'Once upon a time', plain: true })).toContain('  [BOS] "Once upon a time"');
  });
});
