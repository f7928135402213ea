import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseHTML } from 'linkedom';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { frontierCommand } from '../../src/cli/commands/frontier.ts';
import { promptText, tokensText } from '../../src/cli/progress.ts';
import { nondominatedFrontier, sweepFrontier } from '../../src/dream/frontier.ts';
import { MemorySink } from '../../src/dream/memory-sink.ts';
import { dream } from '../../src/dream/run.ts';
import { loadModel } from '../../src/models/load.ts';
import type { Model } from '../../src/models/model.ts';
import { MARK_CLASSES, RUN_COLORS } from '../../src/report/figure.ts';
import { writeRunFolder } from '../../src/store/files.ts';

const dir = mkdtempSync(join(tmpdir(), 'reverie-cli-frontier-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let model: Model;
const runs: string[] = [];
const candidates: { target: number; xent: number; ids: number[] }[][] = [];

/** Two short dreams of one target, exported as folders. */
beforeAll(async () => {
  model = await loadModel('karpathy/tinyllamas/stories260K');
  for (const seed of [1, 2]) {
    const sink = new MemorySink();
    const summary = await dream({
      model,
      target: 'blocks.4.mlp.hook_post[0]',
      options: { iters: 4, population: 3, childrenPerMember: 8, seed, threads: 1 },
      sink,
    });
    const out = join(dir, `seed-${seed}`);
    writeRunFolder(out, { summary, history: sink.history, checkpoint: sink.checkpoint! });
    runs.push(out);
    candidates.push(sink.history.flatMap((r) => r.candidates));
  }
});

async function frontier(values: Record<string, unknown>, refs: string[]) {
  const log = vi.spyOn(console, 'log').mockImplementation(() => {});
  const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    await frontierCommand.run(values, refs);
    return {
      stdout: log.mock.calls.map((c) => c.join(' ')).join('\n'),
      stderr: err.mock.calls.map((c) => String(c[0])).join(''),
    };
  } finally {
    vi.restoreAllMocks();
  }
}

describe('reverie frontier', () => {
  it('draws the runs’ frontiers as SVG, PNG and HTML: a colour and a legend line per run, the merged frontier as a line', async () => {
    const [svg, png, html] = ['f.svg', 'f.png', 'f.html'].map((f) => join(dir, f)) as [
      string,
      string,
      string,
    ];
    const { stderr } = await frontier({ svg, png, html }, runs);
    expect(stderr).toContain(`wrote ${svg}, ${png}, ${html}`);
    const { document } = parseHTML(`<html><body>${readFileSync(svg, 'utf8')}</body></html>`);
    const legend = Array.from(document.querySelectorAll(`g.${MARK_CLASSES.legend}`), (g) => g.textContent);
    const perRun = candidates.map((c) => nondominatedFrontier(c).length);
    expect(legend).toEqual([
      `● ${runs[0]} (${perRun[0]})`,
      `● ${runs[1]} (${perRun[1]})`,
      '— nondominated frontier across runs',
    ]);
    const fills = Array.from(document.querySelectorAll(`g.${MARK_CLASSES.dream} circle`), (c) =>
      c.getAttribute('fill'),
    );
    expect(fills.filter((f) => f === RUN_COLORS[0])).toHaveLength(perRun[0]!);
    expect(fills.filter((f) => f === RUN_COLORS[1])).toHaveLength(perRun[1]!);
    const merged = nondominatedFrontier(candidates.flat());
    const line = document.querySelector(`g.${MARK_CLASSES.frontier} path`)!.getAttribute('d')!;
    expect(line.split(/[ML]/).filter(Boolean).length).toBe(2 * merged.length - 1); // a staircase
    expect(readFileSync(png).subarray(1, 4).toString()).toBe('PNG');
    const page = readFileSync(html, 'utf8');
    expect(page).toContain('Frontier across the runs');
    expect(page.match(/<tr><td>-?\d+\.\d{3}<\/td>/g)).toHaveLength(merged.length);
  });

  it('--method sweep draws the sweep’s winners joined by straight lines, and lists the same points', async () => {
    const svg = join(dir, 'sweep.svg');
    const { stdout } = await frontier({ method: 'sweep', svg, json: true }, runs);
    const listed = JSON.parse(stdout) as { target: number; xent: number; run: string }[];
    const expected = sweepFrontier(candidates.flat());
    expect(listed.map((p) => [p.target, p.xent])).toEqual(expected.map((p) => [p.target, p.xent]));
    expect(readFileSync(svg, 'utf8')).toContain('— sweep frontier across runs');
  });

  it('prints prompts with their token boundaries, and as plain text with --plain', async () => {
    const best = nondominatedFrontier(candidates.flat()).at(-1)!;
    const bars = (await frontier({}, runs)).stdout;
    expect(bars).toContain(promptText(model, best.ids, 90, 'bars'));
    expect(bars).toMatch(/^ +target +xent +run +prompt$/m);
    const plain = (await frontier({ plain: true }, runs)).stdout;
    expect(plain).toContain(JSON.stringify(model.tokenizer!.decode(best.ids)));
  });

  it('refuses an output path in a missing directory before reading any run', async () => {
    await expect(frontier({ svg: join(dir, 'no', 'f.svg') }, ['no-such-run'])).rejects.toThrow(
      /does not exist/,
    );
  });
});

describe('prompts with their token boundaries', () => {
  it('show a | between tokens, escape a | inside one, and cut at the width with …', () => {
    expect(tokensText(['The', ' bird', ' said', ',', ' "', 'a|b'], 'bars')).toBe(
      '"The| bird| said|,| \\"|a\\|b"',
    );
    expect(tokensText(['The', ' bird', ' said'], 'bars', 10)).toBe('"The| bir…');
    expect(tokensText(['The', ' bird'], 'plain')).toBe('"The bird"');
    expect(tokensText(['The', ' bird', ' said'], 'shade')).toBe('"The\x1b[2m bird\x1b[22m said"');
    expect(tokensText(['The', ' bird', ' said'], 'shade', 8)).toBe('"The\x1b[2m bi\x1b[22m…');
  });

  it('read as the decoded text does: the first token without SentencePiece’s leading space', () => {
    const ids = model.tokenizer!.encode('The bird said', { bos: false });
    expect(promptText(model, ids, 70, 'bars')).toBe('"The| b|ir|d| said"');
    expect(promptText(model, ids, 70, 'plain')).toBe('"The bird said"');
  });
});
