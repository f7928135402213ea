import { describe, expect, it } from 'vitest';
import {
  DEFAULT_EPO_OPTIONS,
  OptionsError,
  PRESETS,
  resolveOptions,
  resolveTopk,
  slotPenalties,
} from '../../src/dream/options.ts';

describe('EPO options', () => {
  it('take the dreamy preset as the reference’s settings (DESIGN.md §5), with no operator of its own', () => {
    const dreamy = resolveOptions({ preset: 'dreamy' });
    expect(dreamy).toMatchObject({
      seqLen: 12,
      population: 8,
      childrenPerMember: 32,
      topk: 512,
      iters: 300,
      restartEvery: 50,
      restartPenaltyMin: 2 / 3,
      restartPenaltyMax: 6,
      likelyShare: 0,
    });
    const logs = slotPenalties(dreamy).map(Math.log);
    const step = (Math.log(10) - Math.log(0.1)) / 7;
    logs.forEach((l, i) => expect(l).toBeCloseTo(Math.log(0.1) + i * step, 12));
  });

  it('take the reverie preset by default, and given options over either preset', () => {
    expect(resolveOptions({})).toMatchObject({ preset: 'reverie', ...PRESETS.reverie });
    expect(DEFAULT_EPO_OPTIONS.preset).toBe('reverie');
    expect(resolveOptions({ preset: 'dreamy', topk: 64 }).topk).toBe(64);
    expect(resolveOptions({ preset: 'dreamy', topk: undefined }).topk).toBe(512);
  });

  it('name what is wrong', () => {
    expect(() => resolveOptions({ preset: 'other' as 'dreamy' })).toThrow(OptionsError);
    expect(() => resolveOptions({ preset: 'other' as 'dreamy' })).toThrow(
      /preset must be reverie or dreamy, got other/,
    );
    expect(() => resolveOptions({ topk: 0 })).toThrow(/topk must be a positive integer or auto, got 0/);
    expect(() => resolveOptions({ likelyShare: 1.5 })).toThrow(/likelyShare must be in \[0, 1\], got 1.5/);
  });

  it('resolve an auto top-k to a quarter of the allowed tokens, at most 512, and any top-k to at most those', () => {
    expect(resolveTopk('auto', 509)).toBe(128);
    expect(resolveTopk('auto', 50_000)).toBe(512);
    expect(resolveTopk('auto', 3)).toBe(1);
    expect(resolveTopk(512, 509)).toBe(509);
    expect(resolveTopk(64, 509)).toBe(64);
  });
});
