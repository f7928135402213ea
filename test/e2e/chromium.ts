/**
 * Debian's Chromium for the end-to-end tests (.ci/run installs it): its path, whether it is here (a test
 * file that needs it skips with a message where it is absent), and a launch of it driven by playwright-core.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
export const haveChromium = existsSync(CHROMIUM);

/** Whether Chromium is here; where it is not, says on stderr that `file` is skipped. */
export function chromiumOrSkip(file: string): boolean {
  if (!haveChromium)
    process.stderr.write(`${file} skipped: ${CHROMIUM} is absent (apt-get install chromium)\n`);
  return haveChromium;
}

export const launchChromium = (): Promise<Browser> =>
  chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
