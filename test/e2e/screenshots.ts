/**
 * The README's screenshots, made in Debian's Chromium: docs/play.png (/play after a short dream in the page)
 * and docs/feature.png (a feature page of a small sweep of stories260K, the server tests' fixture).
 * Run with `npm run screenshots` (REVERIE_MODEL_PATH defaults to ../shared/models, as in the tests).
 */
import { join } from 'node:path';
import { startServer } from '../../src/server/server.ts';
import { featureUrl } from '../../src/server/urls.ts';
import { makeFixture, MODEL } from '../server/fixture.ts';
import { launchChromium } from './chromium.ts';

process.env.REVERIE_MODEL_PATH ??= '../shared/models';
const fixture = await makeFixture();
const server = await startServer({
  store: fixture.store,
  port: 0,
  staticRoot: fixture.staticRoot,
  log: () => {},
});
const browser = await launchChromium();
try {
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  await page.goto(new URL('/play', server.url).href);
  await page.waitForSelector('form.play button[type=submit]');
  await page.fill('input[name=iters]', '60');
  await page.click('form.play button[type=submit]');
  await page.waitForFunction(
    () => document.querySelector('p.progress')?.textContent?.includes('done'),
    null,
    {
      timeout: 120_000,
    },
  );
  await page.screenshot({ path: join('docs', 'play.png'), fullPage: true });
  const feature = featureUrl(MODEL, 'blocks.2.mlp.hook_post[0]') as string;
  await page.goto(new URL(`${feature}?sweep=${fixture.sweep.id}`, server.url).href);
  await page.waitForSelector('svg');
  await page.screenshot({ path: join('docs', 'feature.png'), fullPage: true });
  process.stderr.write('wrote docs/play.png and docs/feature.png\n');
} finally {
  await browser.close();
  await server.close();
  fixture.remove();
}
