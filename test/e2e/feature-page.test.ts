/**
 * A feature page end to end, in a real browser (Debian's Chromium driven by playwright-core), over the server
 * tests' store (a small finished sweep of stories260K): the paper's figure has one dot per dream point and
 * per dataset example of the page's view; hovering a dream's token shows its worst and top-3 swaps as
 * stored; "Dream this feature" starts a dream whose frontier arrives in the figure, and Cancel stops it
 * (kept, status stopped). Skipped only where /usr/bin/chromium is absent.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../src/server/server.ts';
import type { DreamStarted, FeatureView, RunView } from '../../src/server/types.ts';
import { featureUrl } from '../../src/server/urls.ts';
import { num } from '../../web/dom.ts';
import { visible } from '../../web/tokens.ts';
import { makeFixture, MODEL, type Fixture } from '../server/fixture.ts';
import { chromiumOrSkip, launchChromium } from './chromium.ts';

const haveChromium = chromiumOrSkip('test/e2e/feature-page.test.ts');

/** The figure's dots, counted by their aria-label (their series), in each series' group. */
const figureDots = (page: Page) =>
  page.evaluate(() => {
    const count = (group: string) => {
      const counts: Record<string, number> = {};
      for (const dot of Array.from(document.querySelectorAll(`.figure-box svg.figure g.${group} circle`))) {
        const label = dot.getAttribute('aria-label') ?? '';
        counts[label] = (counts[label] ?? 0) + 1;
      }
      return counts;
    };
    return { dataset: count('dataset-points'), dreams: count('dream-points') };
  });

/** How many points of each source the view's figure has: `dream of LABEL` or `dataset example`. */
function viewCounts(view: FeatureView) {
  const dreams: Record<string, number> = {};
  for (const p of view.points)
    if (p.kind === 'dream')
      dreams[`dream of ${p.source ?? ''}`] = (dreams[`dream of ${p.source ?? ''}`] ?? 0) + 1;
  const dataset = view.points.filter((p) => p.kind === 'dataset').length;
  return { dataset: { 'dataset example': dataset }, dreams };
}

describe.skipIf(!haveChromium)('a feature page in Chromium', () => {
  let fixture: Fixture;
  let server: RunningServer;
  let browser: Browser;
  let page: Page;
  const errors: string[] = [];
  let path: string;

  const json = async <T>(api: string): Promise<T> => {
    const response = await fetch(new URL(api, server.url));
    expect(response.status, api).toBe(200);
    return (await response.json()) as T;
  };

  beforeAll(async () => {
    [fixture, browser] = await Promise.all([makeFixture(), launchChromium()]);
    server = await startServer({
      store: fixture.store,
      port: 0,
      staticRoot: fixture.staticRoot,
      log: () => {},
    });
    path = `${featureUrl(MODEL, 'blocks.2.mlp.hook_post[0]') as string}?sweep=${fixture.sweep.id}`;
    page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('response', (r) => {
      if (r.status() >= 400 && !r.url().endsWith('/favicon.ico')) errors.push(`${r.status()} ${r.url()}`);
    });
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    fixture?.remove();
  });

  it('draws one dot per dream point and per dataset example of the page’s view', async () => {
    const view = await json<FeatureView>(`/api${path}`);
    const expected = viewCounts(view);
    expect(expected.dataset['dataset example']).toBe(8);
    expect(Object.keys(expected.dreams)).toEqual([`dream of ${view.runs[0]?.label}`]);
    await page.goto(new URL(path, server.url).href);
    await page.waitForSelector('.figure-box svg.figure g.dream-points circle');
    expect(await figureDots(page)).toEqual(expected);
    expect(errors).toEqual([]);
  });

  it('hovering a token of a top dream shows its worst and top-3 swaps, as stored', async () => {
    const view = await json<FeatureView>(`/api${path}`);
    const dream = view.dreams.findIndex((d) => d.attribution !== null);
    expect(dream).toBeGreaterThanOrEqual(0);
    const positions = view.dreams[dream]!.attribution!.positions;
    // The token that matters most: the darkest shade.
    const at = positions.reduce((best, p, i) => (p.importance > positions[best]!.importance ? i : best), 0);
    const position = positions[at]!;
    const list = page.locator('section', { hasText: 'Top dreams' }).locator('ol.prompts > li');
    const token = list.nth(dream).locator('.tokens > .tok').nth(at);
    const tip = token.locator('.tip');
    expect(await list.nth(dream).locator('.tokens > .tok').count()).toBe(positions.length);
    expect(await tip.isVisible()).toBe(false);
    await token.hover();
    expect(await tip.isVisible()).toBe(true);
    expect(await tip.locator('b').textContent()).toBe(`position ${position.position} `);
    const rows = await tip
      .locator('tr')
      .evaluateAll((trs) =>
        trs.slice(1).map((tr) => Array.from(tr.querySelectorAll('th, td')).map((c) => c.textContent)),
      );
    const swap = (label: string, r: typeof position.worst) => [
      label,
      visible(r.text ?? `#${r.id}`),
      num(r.target),
      num(r.xent),
    ];
    expect(position.top).toHaveLength(3);
    expect(rows).toEqual([
      swap('worst', position.worst),
      ...position.top.map((r, i) => swap(`top ${i + 1}`, r)),
    ]);
  });

  it('“Dream this feature” streams a new run’s points into the figure; Cancel stops it, kept', async () => {
    const before = await figureDots(page);
    // Every redraw of the figure from now on: its dots by series, and the live dream's status line then.
    await page.evaluate(() => {
      const box = document.querySelector('.figure-box') as Element;
      const draws: { dreams: Record<string, number>; status: string }[] = [];
      (window as unknown as { draws: typeof draws }).draws = draws;
      new MutationObserver(() => {
        const dreams: Record<string, number> = {};
        for (const dot of Array.from(box.querySelectorAll('svg.figure g.dream-points circle'))) {
          const label = dot.getAttribute('aria-label') ?? '';
          dreams[label] = (dreams[label] ?? 0) + 1;
        }
        draws.push({ dreams, status: document.querySelector('.live .message')?.textContent ?? '' });
      }).observe(box, { childList: true });
    });
    const draws = () =>
      page.evaluate(
        () => (window as unknown as { draws: { dreams: Record<string, number>; status: string }[] }).draws,
      );
    await page.fill('input[aria-label=iterations]', '2000');
    await page.fill('input[aria-label=seed]', '3');
    const [response] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith('/api/dreams') && r.request().method() === 'POST'),
      page.getByRole('button', { name: 'Dream this feature' }).click(),
    ]);
    expect(response.status()).toBe(201);
    const { runId } = (await response.json()) as DreamStarted;
    const { run } = await json<RunView>(`/api/runs/${runId}`);
    const live = `dream of ${run.label}`;
    expect(before.dreams[live]).toBeUndefined();

    // Its points arrive redraw after redraw (at most every 300 ms), each at a later iteration.
    const iteration = (status: string) => /iteration (\d+),/.exec(status)?.[1];
    const withPoints = async () =>
      (await draws()).filter((d) => (d.dreams[live] ?? 0) > 0 && iteration(d.status) !== undefined);
    await expect
      .poll(async () => (await withPoints()).length, { timeout: 30_000, interval: 100 })
      .toBeGreaterThanOrEqual(3);
    const arrived = await withPoints();
    const iterations = arrived.map((d) => Number(iteration(d.status)));
    expect(
      iterations.every((i, k) => k === 0 || i > iterations[k - 1]!),
      iterations.join(' '),
    ).toBe(true);
    const during = await figureDots(page);
    expect(during.dreams[live]).toBeGreaterThan(0);
    // The other series stay as they were.
    expect(during.dataset).toEqual(before.dataset);
    for (const [label, n] of Object.entries(before.dreams)) expect(during.dreams[label]).toBe(n);

    await page.getByRole('button', { name: 'Cancel' }).click();
    // Its end: the status line says so, and the figure is drawn a last time.
    await expect
      .poll(async () => (await draws()).at(-1)?.status.startsWith(`${run.label} stopped after `), {
        timeout: 20_000,
        interval: 100,
      })
      .toBe(true);
    const streamed = await figureDots(page);
    const stopped = await json<RunView>(`/api/runs/${runId}`);
    expect(stopped.run.status).toBe('stopped');
    expect(stopped.run.live).toBe(false);
    expect(stopped.run.iterations).toBeGreaterThanOrEqual(3);
    expect(stopped.run.iterations).toBeLessThan(2000);
    // Kept: the feature's view lists it, and the page drawn again has its points as the view has them.
    const view = await json<FeatureView>(`/api${path}`);
    expect(view.runs.find((r) => r.id === runId)?.status).toBe('stopped');
    await page.reload();
    await page.waitForSelector('.figure-box svg.figure g.dream-points circle');
    const after = await figureDots(page);
    expect(after).toEqual(viewCounts(view));
    expect(after.dreams[live]).toBeGreaterThan(0);
    // The frontier the page followed counts each prompt once, and is the one the run stored at its end.
    const keys = stopped.progress.frontier.map((p) => p.ids.join(','));
    expect(new Set(keys).size).toBe(keys.length);
    expect(streamed).toEqual(after);
    expect(errors).toEqual([]);
  }, 60_000);
});
