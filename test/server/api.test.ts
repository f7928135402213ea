/**
 * `reverie serve`'s API over a real store on a loopback port: the home, layer, feature and run views as JSON
 * and as pages, the feature's stable URL, a dream started by POST that streams its iterations and is
 * cancelled (kept, stopped), and the safety rules — cross-origin work, traversal, oversized bodies,
 * malformed ids, a failing handler — each a 4xx (or a named 500), the server answering after every one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/database.ts';
import { findRun } from '../../src/store/runs.ts';
import { startServer, type RunningServer } from '../../src/server/server.ts';
import type { DreamStarted, FeatureView, HomeView, LayerView, RunView } from '../../src/server/types.ts';
import { featureUrl } from '../../src/server/urls.ts';
import { EventReader, makeFixture, MODEL, raw, SET, type Fixture } from './fixture.ts';

let fixture: Fixture;
let server: RunningServer;
const logged: string[] = [];

beforeAll(async () => {
  fixture = await makeFixture();
  // One thread for the server's dreams: a second dream at once is refused.
  server = await startServer({
    store: fixture.store,
    port: 0,
    staticRoot: fixture.staticRoot,
    maxThreads: 1,
    log: (line) => logged.push(line),
  });
}, 300_000);

afterAll(async () => {
  await server?.close();
  fixture?.remove();
});

const get = (path: string, headers: Record<string, string> = {}) =>
  fetch(new URL(path, server.url), { headers });
const json = async <T>(path: string): Promise<T> => {
  const response = await get(path);
  expect(response.status, `${path}: ${await response.clone().text()}`).toBe(200);
  return (await response.json()) as T;
};
const origin = () => server.url.replace(/\/$/, '');
const post = (path: string, body?: unknown, headers: Record<string, string> = {}) =>
  fetch(new URL(path, server.url), {
    method: 'POST',
    headers: {
      Origin: origin(),
      ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
      ...headers,
    },
    ...(body !== undefined && { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });

/** The server still answers: its home as JSON. */
async function answering(): Promise<void> {
  const response = await get('/api/home');
  expect(response.status).toBe(200);
}

/** The view a page embeds. */
function embedded(html: string): unknown {
  const text = /<script type="application\/json" id="view">(.*?)<\/script>/s.exec(html)?.[1];
  expect(text).toBeDefined();
  return JSON.parse(text as string);
}

describe('the pages and their API', () => {
  it('home lists the model, the sweep, its dreams and both scans; the page embeds the same view', async () => {
    const home = await json<HomeView>('/api/home');
    expect(home.models).toEqual([{ name: MODEL, runs: 2, sweeps: 1, scans: 2 }]);
    expect(home.sweeps).toMatchObject([
      { id: fixture.sweep.id, status: 'finished', features: 2, finished: 2, target: SET },
    ]);
    expect(home.runs.map((r) => r.sweepId)).toEqual([fixture.sweep.id, fixture.sweep.id]);
    expect(home.runs.map((r) => r.featureUrl)).toEqual([
      featureUrl(MODEL, 'blocks.2.mlp.hook_post[1]'),
      featureUrl(MODEL, 'blocks.2.mlp.hook_post[0]'),
    ]);
    expect(home.scans.map((s) => [s.kind, s.context, s.size])).toEqual([
      ['features', 'document', 2],
      ['features', 'window', 2],
    ]);
    const page = await get('/');
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    const html = await page.text();
    expect(html).toContain('<body data-page="home">');
    expect(html).toContain('<script type="module" src="/static/app.js"></script>');
    expect(embedded(html)).toMatchObject({ models: home.models, store: fixture.store });
  });

  it('a sweep’s layer page has a row per feature with its result, statistics and the feature’s stable URL', async () => {
    const layer = await json<LayerView>(`/api/sweeps/${fixture.sweep.id}`);
    expect(layer).toMatchObject({
      kind: 'sweep',
      model: MODEL,
      target: SET,
      scan: { context: 'window', window: 12 },
    });
    expect(layer.features.map((f) => [f.label, f.status])).toEqual([
      ['0', 'finished'],
      ['1', 'finished'],
    ]);
    for (const f of layer.features) {
      expect(f.url).toBe(`${featureUrl(MODEL, f.target)}?sweep=${fixture.sweep.id}`);
      expect(f.result?.topExample.activation).toBe(f.top?.activation);
      expect(f.stats?.histogram.counts.reduce((a, b) => a + b)).toBe(f.stats?.count);
    }
    const html = await (await get(`/sweeps/${fixture.sweep.id}`)).text();
    expect(html).toContain('<body data-page="layer">');
    expect(embedded(html)).toEqual(layer);
  });

  it('a multi-feature scan has its layer page too', async () => {
    const layer = await json<LayerView>(`/api/scans/${fixture.documentScanId}`);
    expect(layer).toMatchObject({ kind: 'scan', sweep: null, scan: { context: 'document' } });
    expect(layer.features.map((f) => f.url)).toEqual(
      ['blocks.2.mlp.hook_post[0]', 'blocks.2.mlp.hook_post[1]'].map(
        (t) => `${featureUrl(MODEL, t)}?scan=${fixture.documentScanId}`,
      ),
    );
  });

  it('a feature’s stable URL gathers its sweep result, the paper’s figure, dreams, examples and histogram', async () => {
    const url = featureUrl(MODEL, 'blocks.2.mlp.hook_post[0]') as string;
    expect(url).toBe('/m/karpathy/tinyllamas/stories260K/f/blocks.2.mlp.hook_post/0');
    const feature = await json<FeatureView>(`/api${url}`);
    expect(feature).toMatchObject({
      model: MODEL,
      target: 'blocks.2.mlp.hook_post[0]',
      sweepId: fixture.sweep.id,
    });
    const result = feature.result as NonNullable<FeatureView['result']>;
    // The figure is `reverie compare`'s: the scan's examples and the dream's frontier, the median bar the sweep's.
    expect(feature.points.filter((p) => p.kind === 'dataset')).toHaveLength(8);
    expect(feature.points.filter((p) => p.kind === 'dream').length).toBeGreaterThan(0);
    expect(feature.comparison?.medianDatasetXent).toBe(result.medianXent);
    expect(feature.bar).toBe(result.medianXent);
    expect(feature.comparison?.topDataset.activation).toBe(result.topExample.activation);
    // Its dream's progress, iteration by iteration, and the attribution of the sweep's best dream.
    expect(feature.progress).toHaveLength(1);
    expect(feature.progress[0]?.series.map((s) => s.iter)).toEqual([0, 1, 2, 3, 4]);
    const attributed = feature.dreams.filter((d) => d.attribution !== null);
    expect(attributed).toHaveLength(1);
    expect(attributed[0]?.attribution?.positions[0]?.top).toHaveLength(3);
    // Examples token by token: windows (read at the last token) and document positions shaded by activation.
    const example = feature.examples[0] as FeatureView['examples'][number];
    expect(
      example.tokens
        .map((t) => t.text)
        .join('')
        .trim(),
    ).toBe(example.text.trim()); // a decoded text drops a first space
    expect(example.at).toBe(example.tokens.length - 1);
    expect(feature.documentExamples).toHaveLength(4);
    const document = feature.documentExamples[0] as FeatureView['documentExamples'][number];
    expect(document.tokens[document.at]?.value).toBeCloseTo(document.activation, 5);
    expect(feature.stats?.count).toBeGreaterThan(0);
    expect(feature.dream).toEqual({
      model: MODEL,
      target: 'blocks.2.mlp.hook_post[0]',
      seqLen: 12,
    });

    const html = await (await get(url)).text();
    expect(html).toContain('<body data-page="feature">');
    expect(html).toContain(
      '<title>blocks.2.mlp.hook_post[0] · karpathy/tinyllamas/stories260K · reverie</title>',
    );
    expect((await get(`${url}?sweep=${fixture.sweep.id}`)).status).toBe(200);
    expect((await get(`/api${url}?scan=${fixture.documentScanId}`)).status).toBe(200);
    // The model as one encoded segment names the same feature.
    expect((await get(`/api/m/${encodeURIComponent(MODEL)}/f/blocks.2.mlp.hook_post/0`)).status).toBe(200);
  });

  it('a run’s page has its frontier and its progress', async () => {
    const home = await json<HomeView>('/api/home');
    const id = home.runs[0]?.id as number;
    const run = await json<RunView>(`/api/runs/${id}`);
    expect(run.run).toMatchObject({ id, status: 'finished', iterations: 5, iters: 5, job: false });
    expect(run.progress.series).toHaveLength(5);
    expect(run.progress.frontier.length).toBeGreaterThan(0);
    expect(run.options).toMatchObject({ iters: 5, population: 4 });
  });

  it('serves the web bundle', async () => {
    const js = await get('/static/app.js');
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect((await get('/static/app.css')).status).toBe(200);
    expect((await get('/static/nothing.js')).status).toBe(404);
  });
});

describe('a dream started on the server', () => {
  it('streams its iterations as committed, refuses a second past the cores, and is cancelled, kept', async () => {
    const target = 'blocks.2.mlp.hook_post[0]';
    const started = await post('/api/dreams', { target, iters: 1000, seed: 3, seqLen: 12 });
    expect(started.status, await started.clone().text()).toBe(201);
    const { runId, url, events } = (await started.json()) as DreamStarted;
    expect(url).toBe(`/runs/${runId}`);
    expect(started.headers.get('location')).toBe(url);

    const busy = await post('/api/dreams', { target });
    expect(busy.status).toBe(429);
    expect(((await busy.json()) as { error: string }).error).toBe('BusyError');

    const stream = new EventReader(await get(`${events}?bar=4`));
    const state = await stream.next();
    expect(state?.type).toBe('state');
    expect(state?.data.run).toMatchObject({ id: runId, status: 'running', job: true, live: true });
    const iteration = await stream.until('iteration');
    expect(iteration?.data).toMatchObject({ type: 'iteration' });
    expect((iteration?.data.frontier as unknown[]).length).toBeGreaterThan(0);
    expect((await json<HomeView>('/api/home')).jobs).toMatchObject({ running: 1, threads: 1, maxThreads: 1 });

    const cancelled = await post(`/api/runs/${runId}/cancel`);
    expect(cancelled.status).toBe(202);
    const end = await stream.until('end');
    expect(end?.data.run).toMatchObject({ id: runId, status: 'stopped', job: false, live: false });
    expect(await stream.next()).toBeUndefined(); // the server ends the stream
    const iterations = stream.seen.filter((e) => e.type === 'iteration').map((e) => e.data.iter as number);
    expect(iterations).toEqual(iterations.map((_, i) => (iterations[0] as number) + i));

    const db = openStore(fixture.store, { create: false });
    try {
      const row = findRun(db, runId);
      expect(row.status).toBe('stopped');
      expect(row.iterations).toBeGreaterThanOrEqual(1);
      expect(row.iterations).toBeLessThan(1000);
    } finally {
      db.close();
    }
    // Cancelled again: it no longer runs.
    expect((await post(`/api/runs/${runId}/cancel`)).status).toBe(409);
    // The feature's page has the new run beside the sweep's.
    const feature = await json<FeatureView>(`/api${featureUrl(MODEL, target)}`);
    expect(feature.runs.map((r) => r.id)).toContain(runId);
    expect(feature.colors.runs.length).toBe(2);
    await answering();
  }, 180_000);

  it('refuses bodies that are not a dream: unknown fields, a bad target, a model the store does not have', async () => {
    for (const body of [
      { target: 'blocks.2.mlp.hook_post[0]', iters: 5, prompt: 'x' },
      { target: 'blocks.99.mlp.hook_post[0]' },
      { target: 'blocks.2.mlp.hook_post[0]', iters: 0 },
      { target: 'blocks.2.mlp.hook_post[0]', iters: 1.5 },
      { target: 'sae:/etc[0]' },
      { target: 'blocks.2.hook_resid_pre@/etc/passwd' },
      { target: 7 },
      { model: '/etc', target: 'blocks.2.mlp.hook_post[0]' },
    ]) {
      const response = await post('/api/dreams', body);
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(Object.keys((await response.json()) as object)).toEqual(['error', 'message']);
    }
    await answering();
  });
});

describe('safety', () => {
  it('refuses work from another origin (Origin, Sec-Fetch-Site) with a 403, and starts nothing', async () => {
    const before = (await json<HomeView>('/api/home')).runs.length;
    const foreign: Record<string, string>[] = [
      { Origin: 'http://evil.example' },
      { Origin: 'null' },
      { 'Sec-Fetch-Site': 'cross-site' },
      { 'Sec-Fetch-Site': 'same-site' },
    ];
    for (const headers of foreign) {
      const response = await post('/api/dreams', { target: 'blocks.2.mlp.hook_post[0]' }, headers);
      expect(response.status, JSON.stringify(headers)).toBe(403);
      expect(((await response.json()) as { error: string }).error).toBe('ForbiddenError');
      expect((await post('/api/runs/1/cancel', undefined, headers)).status).toBe(403);
    }
    expect((await json<HomeView>('/api/home')).runs.length).toBe(before);
    await answering();
  });

  it('answers only to loopback names while bound to loopback (no DNS rebinding)', async () => {
    const response = await raw(server.url, '/api/home', { headers: { Host: 'evil.example' } });
    expect(response.status).toBe(403);
    expect(
      (await raw(server.url, '/api/home', { headers: { Host: `localhost:${server.port}` } })).status,
    ).toBe(200);
    await answering();
  });

  it('serves no file outside its static root: traversal in every encoding is a 4xx', async () => {
    for (const path of [
      '/static/../package.json',
      '/static/%2e%2e/package.json',
      '/static/%2E%2E/%2E%2E/package.json',
      '/static/..%2fpackage.json',
      '/static/%2e%2e%2fpackage.json',
      '/static/..%5c..%5cpackage.json',
      '/static/%252e%252e%252fpackage.json',
      '/static/./app.js',
      '/static//etc/passwd',
      '/static/%2fetc%2fpasswd',
      '/static/.hidden.js',
      '/static/app.js%00.css',
      '/../package.json',
      '/%2e%2e/%2e%2e/etc/passwd',
      '/static/%E0%A4%A',
    ]) {
      const response = await raw(server.url, path);
      expect(response.status, path).toBeGreaterThanOrEqual(400);
      expect(response.status, path).toBeLessThan(500);
      expect(response.body, path).not.toContain('"name": "reverie"');
      expect(response.body, path).not.toContain('root:');
    }
    await answering();
  });

  it('refuses a body over 64 KiB with a 413, declared or streamed', async () => {
    const big = JSON.stringify({ target: 'x'.repeat(70 * 1024) });
    const declared = await post('/api/dreams', big);
    expect(declared.status).toBe(413);
    expect(((await declared.json()) as { error: string }).error).toBe('PayloadTooLargeError');
    const chunked = await raw(server.url, '/api/dreams', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked', Origin: origin() },
      body: big,
    });
    expect(chunked.status).toBe(413);
    expect((await post('/api/runs/1/cancel', big)).status).toBe(413);
    await answering();
  });

  it('answers malformed ids with a 400 and unknown ones with a 404', async () => {
    for (const path of [
      '/api/runs/abc',
      '/api/runs/-1',
      '/api/runs/1.5',
      '/api/runs/0x10',
      '/api/runs/99999999999999999999',
      '/api/sweeps/x',
      '/api/scans/1e3',
      '/runs/%20',
      '/api/runs/abc/events',
      `/api${featureUrl(MODEL, 'blocks.2.mlp.hook_post[0]')}?sweep=abc`,
      '/api/m/x/f/blocks.2.mlp.hook_post/one',
      '/api/m/x/f/bad%20hook/1',
      '/api/m/f/hook/1',
    ]) {
      const response = await get(path);
      expect(response.status, path).toBe(400);
    }
    for (const path of [
      '/api/runs/999',
      '/api/sweeps/999',
      '/api/scans/999',
      '/runs/999',
      '/api/runs/999/events',
      `/api${featureUrl(MODEL, 'blocks.2.mlp.hook_post[5]')}`,
      `/api${featureUrl(MODEL, 'blocks.2.mlp.hook_post[0]')}?sweep=999`,
      '/nowhere',
      '/api/nowhere',
    ]) {
      const response = await get(path);
      expect(response.status, path).toBe(404);
    }
    expect((await post('/api/runs/abc/cancel')).status).toBe(400);
    expect((await post('/api/runs/999/cancel')).status).toBe(404);
    await answering();
  });

  it('answers a wrong method with a 405, a body that is not JSON with a 400 or 415', async () => {
    const put = await fetch(new URL('/api/runs/1', server.url), { method: 'PUT' });
    expect(put.status).toBe(405);
    expect(put.headers.get('allow')).toBe('GET, HEAD');
    expect((await get('/api/dreams')).status).toBe(405);
    expect((await post('/api/dreams', '{"target":')).status).toBe(400);
    expect((await post('/api/dreams', '[1, 2]')).status).toBe(400);
    expect(
      (await post('/api/dreams', 'target=x', { 'Content-Type': 'application/x-www-form-urlencoded' })).status,
    ).toBe(415);
    await answering();
  });

  it('answers a handler’s error as a named 500 and goes on (a damaged row of the store)', async () => {
    const db = openStore(fixture.store);
    let id: number;
    try {
      id = Number(
        db
          .prepare(
            `INSERT INTO sweeps (model_id, target, request, status, created_at, updated_at) VALUES (1, 'x', 'not json', 'stopped', '', '')`,
          )
          .run().lastInsertRowid,
      );
    } finally {
      db.close();
    }
    const response = await get(`/api/sweeps/${id}`);
    expect(response.status).toBe(500);
    expect(await response.json()).toMatchObject({ error: 'CorruptStoreError' });
    expect(logged.some((line) => line.includes('CorruptStoreError'))).toBe(true);
    const page = await get(`/sweeps/${id}`);
    expect(page.status).toBe(500);
    expect(await page.text()).toContain('500 CorruptStoreError');
    const cleanup = openStore(fixture.store);
    cleanup.prepare('DELETE FROM sweeps WHERE id = ?').run(id);
    cleanup.close();
    await answering();
  });
});
