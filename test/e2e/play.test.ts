/**
 * /play end to end, in a real browser: Debian's Chromium (/usr/bin/chromium, which .ci/run installs) driven
 * by playwright-core. The page loads stories260K, dreams 20 iterations with onnxruntime-web (WebAssembly, one
 * thread) and returns its history, which must equal — float for float — the history of the same dream in
 * Node on onnxruntime-web's WebAssembly (the same ort-wasm-simd-threaded.wasm, one thread). It prints the
 * time per iteration of both, and of Node on onnxruntime-node. Skipped only where /usr/bin/chromium is
 * absent.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveModel } from '../../src/io/resolve.ts';
import { nodeRuntime } from '../../src/runtime/index.ts';
import { webRuntime } from '../../src/runtime/web.ts';
import { startServer, type RunningServer } from '../../src/server/server.ts';
import { createServer, type Server } from 'node:http';
import { buildPlayFolder, buildWeb } from '../../web/build.ts';
import {
  PLAY_MODEL,
  playDream,
  playModel,
  type PlayRequest,
  type PlayResult,
} from '../../web/play/session.ts';
import { chromiumOrSkip, launchChromium } from './chromium.ts';

const haveChromium = chromiumOrSkip('test/e2e/play.test.ts');

/** The dream both sides run: 20 iterations of the default preset at small settings, one seed. */
export const REQUEST: PlayRequest = {
  target: 'blocks.2.mlp.hook_post[17]',
  options: { iters: 20, population: 4, childrenPerMember: 8, topk: 32, seed: 7, threads: 1 },
};

describe.skipIf(!haveChromium)('/play in Chromium', () => {
  let dir: string;
  let server: RunningServer;
  let browser: Browser;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'reverie-e2e-'));
    await buildWeb(join(dir, 'web'));
    server = await startServer({
      store: join(dir, 'reverie.db'),
      port: 0,
      staticRoot: join(dir, 'web'),
      log: () => {},
    });
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('dreams 20 iterations in the page with the same history as Node on the same WebAssembly', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('response', (r) => {
      if (r.status() >= 400 && !r.url().endsWith('/favicon.ico')) errors.push(`${r.status()} ${r.url()}`);
    });
    await page.goto(new URL('/play', server.url).href);
    await page
      .waitForFunction(() => window.reverieReady !== undefined || undefined, null, { timeout: 10_000 })
      .catch(() => {
        throw new Error(`the page did not start: ${errors.join('; ')}`);
      });
    const ready = await page.evaluate(() => window.reverieReady);
    expect(ready?.crossOriginIsolated).toBe(true);
    const inBrowser = (await page.evaluate((r) => window.reverieDream!(r), REQUEST)) as PlayResult;
    expect(errors).toEqual([]);

    const files = (await resolveModel(PLAY_MODEL, { offline: true })).files;
    const model = playModel(readFileSync(files.weights), readFileSync(files.tokenizer as string));
    const inNode = await playDream(model, webRuntime, REQUEST);
    const onNative = await playDream(model, nodeRuntime, REQUEST);

    const strip = (r: PlayResult) => r.history.map(({ seconds: _, ...rest }) => rest);
    expect(inBrowser.history).toHaveLength(20);
    expect(strip(inBrowser)).toEqual(strip(inNode));
    const ms = (r: PlayResult) => r.msPerIteration.toFixed(1);
    process.stderr.write(
      `/play, stories260K, 20 iterations (population 4, 8 children each, top-k 32), one thread: ` +
        `${ms(inBrowser)} ms an iteration in Chromium (onnxruntime-web), ${ms(inNode)} ms in Node (onnxruntime-web), ` +
        `${ms(onNative)} ms in Node (onnxruntime-node); Chromium / Node-web = ${(inBrowser.msPerIteration / inNode.msPerIteration).toFixed(2)}, ` +
        `Chromium / Node-native = ${(inBrowser.msPerIteration / onNative.msPerIteration).toFixed(2)}\n`,
    );
    await page.close();
  });

  it('dreams on two WebAssembly threads where the page is cross-origin isolated', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(new URL('/play', server.url).href);
    await page.waitForFunction(() => window.reverieReady !== undefined || undefined, null, {
      timeout: 10_000,
    });
    const ready = await page.evaluate(() => window.reverieReady);
    expect(ready?.threads).toBeGreaterThanOrEqual(2);
    const result = (await page.evaluate((r) => window.reverieDream!(r), {
      ...REQUEST,
      options: { ...REQUEST.options, iters: 3, threads: 2 },
    })) as PlayResult;
    expect(errors).toEqual([]);
    expect(result.history).toHaveLength(3);
    expect(result.history.every((r) => r.candidates.every((c) => Number.isFinite(c.target)))).toBe(true);
    await page.close();
  });

  it('dreams from the static folder on a plain static host (no isolation headers: one thread)', async () => {
    const folder = join(dir, 'play');
    expect(await buildPlayFolder(join(dir, 'web'), folder)).toBe(true);
    const types: Record<string, string> = {
      html: 'text/html',
      js: 'text/javascript',
      wasm: 'application/wasm',
    };
    const host: Server = createServer((req, res) => {
      const name = (req.url ?? '/').split('?')[0]!.slice(1) || 'index.html';
      if (!/^[\w.-]+$/.test(name) || !existsSync(join(folder, name))) return res.writeHead(404).end();
      res.writeHead(200, { 'Content-Type': types[name.split('.').pop()!] ?? 'application/octet-stream' });
      res.end(readFileSync(join(folder, name)));
    });
    await new Promise<void>((done) => host.listen(0, '127.0.0.1', done));
    try {
      const page = await browser.newPage();
      const { port } = host.address() as { port: number };
      await page.goto(`http://127.0.0.1:${port}/`);
      await page.waitForFunction(() => window.reverieReady !== undefined || undefined, null, {
        timeout: 10_000,
      });
      expect((await page.evaluate(() => window.reverieReady))?.crossOriginIsolated).toBe(false);
      const result = (await page.evaluate((r) => window.reverieDream!(r), {
        ...REQUEST,
        options: { ...REQUEST.options, iters: 3 },
      })) as PlayResult;
      expect(result.history).toHaveLength(3);
      await page.close();
    } finally {
      await new Promise((done) => host.close(done));
    }
  });
});
