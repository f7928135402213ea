import { describe, expect, it, vi } from 'vitest';
import { asciiSwapsOnly, attributeCommand } from '../../src/cli/commands/attribute.ts';
import type { Attribution } from '../../src/dream/attribution.ts';
import { loadModel } from '../../src/models/load.ts';

async function attribute(values: Record<string, unknown>): Promise<string> {
  const log = vi.spyOn(console, 'log').mockImplementation(() => {});
  vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    await attributeCommand.run({ threads: '1', target: 'blocks.4.mlp.hook_post[0]', ...values }, []);
    return log.mock.calls.map((c) => c.join(' ')).join('\n');
  } finally {
    vi.restoreAllMocks();
  }
}

const ascii = (text: string | null) => text !== null && /^[\x20-\x7e]*$/.test(text);

describe('reverie attribute --ascii', () => {
  it('never swaps in a token that is not printable ASCII, as dream --ascii never proposes one', async () => {
    const every = { prompt: 'Thank you', k: '512', json: true }; // every allowed token at every position
    const all = JSON.parse(await attribute(every)) as Attribution;
    const swapped = (a: Attribution) => a.positions.flatMap((p) => p.replacements.map((r) => r.text));
    expect(swapped(all).some((t) => !ascii(t))).toBe(true);
    const only = JSON.parse(await attribute({ ...every, ascii: true })) as Attribution;
    expect(swapped(only).length).toBeGreaterThan(0);
    expect(swapped(only).every(ascii)).toBe(true);
    // the same swaps as before, less the others
    expect(new Set(swapped(only))).toEqual(new Set(swapped(all).filter(ascii)));
  });

  it('keeps the model as it is but for the tokens it counts as special', async () => {
    const model = await loadModel('karpathy/tinyllamas/stories260K');
    const restricted = asciiSwapsOnly(model);
    const tokenizer = restricted.tokenizer!;
    expect(tokenizer.encode('Thank you')).toEqual(model.tokenizer!.encode('Thank you'));
    expect(tokenizer.specialIds).toEqual(expect.arrayContaining(model.tokenizer!.specialIds));
    expect(
      tokenizer.specialIds.every(
        (id) => model.tokenizer!.specialIds.includes(id) || !ascii(model.tokenizer!.decodeToken(id)),
      ),
    ).toBe(true);
  });

  it('prints the prompt plain with --plain, its token boundaries otherwise', async () => {
    expect(await attribute({ prompt: 'Thank you', k: '4' })).toContain('  [BOS] T|h|an|k| you');
    expect(await attribute({ prompt: 'Thank you', k: '4', plain: true })).toContain('  [BOS] Thank you');
  });
});
