import { describe, expect, it } from 'vitest';
import {
  compare,
  CompareError,
  comparisonFigureOf,
  comparisonHtml,
  summaryText,
} from '../../src/report/compare.ts';
import { median } from '../../src/report/stats.ts';
import { fakeRun, fakeScan } from './fakes.ts';

const scan = fakeScan([
  [3.5, 4.0, 'top example'],
  [3.0, 2.0, 'fluent example'],
  [2.0, 3.0, 'median example'],
]);
const run = fakeRun([
  [1.0, 1.5, 'fluent dream'],
  [5.0, 2.9, 'good dream'],
  [9.0, 7.0, 'strong but gibberish'],
]);

describe('comparing dreams with dataset examples', () => {
  it('finds the best dream at a cross-entropy no worse than the median dataset example’s', () => {
    const { points, summary } = compare([{ dir: 'run', run }], scan);
    expect(points).toHaveLength(6);
    expect(summary.medianDatasetXent).toBe(3);
    expect(summary.topDataset.text).toBe('top example');
    expect(summary.bestFluentDream?.text).toBe('good dream');
    expect(summary.ratio).toBeCloseTo(5 / 3.5, 12);
    expect(summary.warnings).toEqual([]);
    const text = summaryText(summary);
    expect(text).toContain('best dream at xent ≤ 3.000   5.000');
    expect(text).toContain('1.43× the top dataset activation');
  });

  it('says so when no dream is that fluent, and warns when windows and dreams differ in length', () => {
    const { summary } = compare(
      [{ dir: 'r', run: fakeRun([[9, 7, 'x']]) }],
      fakeScan([[1, 2, 'a']], { window: 8 }),
    );
    expect(summary.bestFluentDream).toBeUndefined();
    expect(summaryText(summary)).toContain('no dream is as fluent as the median dataset example');
    expect(summary.warnings).toEqual(["run r dreams 12 tokens, the scan's windows are 8"]);
  });

  it('refuses runs of another target or model', () => {
    expect(() => compare([{ dir: 'r', run: fakeRun([], { target: 'logit:" cat"' }) }], scan)).toThrow(
      CompareError,
    );
    const other = fakeRun([], { model: { id: 'other', sha256: 'y' } });
    expect(() => compare([{ dir: 'r', run: other }], scan)).toThrow(/used model other/);
  });

  it('writes a self-contained page with the figure, its hover text and the points', () => {
    const comparison = compare([{ dir: 'run', run }], scan);
    const html = comparisonHtml(comparison, comparisonFigureOf(comparison));
    expect(html).toMatch(/^<!DOCTYPE html>/);
    expect(html).toContain('<svg xmlns="http://www.w3.org/2000/svg"');
    expect(html).toContain('&quot;strong but gibberish&quot;');
    expect(html).not.toMatch(/<script src=|<link /);
  });

  it('takes the median of an even count as the mean of the middle two', () => {
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });
});
