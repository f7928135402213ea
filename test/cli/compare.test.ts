import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { UsageError, type Command } from '../../src/cli/command.ts';
import { compareCommand } from '../../src/cli/commands/compare.ts';
import { RunNotFoundError } from '../../src/dream/records.ts';
import { CompareError } from '../../src/report/compare.ts';
import { fakeRun, fakeScan, writeFakeRun } from '../report/fakes.ts';

const dir = mkdtempSync(join(tmpdir(), 'reverie-cli-compare-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function run(command: Command, values: Record<string, unknown>, positionals: string[] = []) {
  const log = vi.spyOn(console, 'log').mockImplementation(() => {});
  const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    await command.run(values, positionals);
    return {
      stdout: log.mock.calls.map((c) => c.join(' ')).join('\n'),
      stderr: err.mock.calls.map((c) => String(c[0])).join(''),
    };
  } finally {
    vi.restoreAllMocks();
  }
}

const runDir = (name: string, frontier: [number, number, string][]): string =>
  writeFakeRun(join(dir, name), fakeRun(frontier));

const runA = runDir('a', [
  [1, 2, 'calm dream'],
  [6, 3.5, 'loud dream'],
]);
const runB = runDir('b', [[4, 2.5, 'other dream']]);
const scanPath = join(dir, 'scan.json');
writeFileSync(
  scanPath,
  JSON.stringify(
    fakeScan([
      [3, 3, 'top example'],
      [2, 2.5, 'second example'],
      [1, 4, 'third example'],
    ]),
  ),
);

describe('reverie compare', () => {
  it('prints the paper’s summary and writes the figure as SVG, PNG and HTML', async () => {
    const svg = join(dir, 'fig.svg');
    const png = join(dir, 'fig.png');
    const html = join(dir, 'fig.html');
    const { stdout, stderr } = await run(
      compareCommand,
      { runs: [runA], scan: scanPath, out: svg, png, html },
      [runB],
    );
    expect(stdout).toContain('3 dream frontier points, 3 dataset examples');
    expect(stdout).toContain('median dataset cross-entropy  3.000');
    expect(stdout).toMatch(/best dream at xent ≤ 3\.000 +4\.000 +\(xent 2\.500\) +"other dream"/);
    expect(stdout).toContain('reaches 1.33× the top dataset activation');
    expect(stderr).toContain(`wrote ${svg}, ${png}, ${html}`);
    const figure = readFileSync(svg, 'utf8');
    expect(figure.match(/<circle /g)?.length).toBe(3 + 3 + 1); // the points, and the ring on the best dream
    expect(readFileSync(png).subarray(1, 4).toString()).toBe('PNG');
    expect(readFileSync(html, 'utf8')).toContain('&quot;loud dream&quot;');
  });

  it('--json prints the summary as JSON', async () => {
    const { stdout } = await run(compareCommand, { runs: [runA], scan: scanPath, json: true });
    expect(JSON.parse(stdout)).toMatchObject({
      medianDatasetXent: 3,
      bestFluentDream: { text: 'calm dream' },
    });
  });

  it('names what is wrong: no runs, no scan, a folder that is not a run, a scan of another target', async () => {
    await expect(run(compareCommand, { scan: scanPath })).rejects.toThrow(UsageError);
    await expect(run(compareCommand, { runs: [runA] })).rejects.toThrow(/--scan/);
    await expect(run(compareCommand, { runs: [dir], scan: scanPath })).rejects.toThrow(RunNotFoundError);
    const other = join(dir, 'other.json');
    writeFileSync(other, JSON.stringify(fakeScan([[1, 1, 'x']], { target: 'logit:#5' })));
    await expect(run(compareCommand, { runs: [runA], scan: other })).rejects.toThrow(CompareError);
    await expect(run(compareCommand, { runs: [runA], scan: join(dir, 'nope.json') })).rejects.toThrow(
      /cannot read the scan/,
    );
  });
});
