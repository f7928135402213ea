import { existsSync, renameSync, statSync, unlinkSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { basename } from 'node:path';
import { DownloadError } from './errors.ts';

export type ProgressFn = (file: string, received: number, total: number | undefined) => void;

export interface DownloadOptions {
  fetch?: typeof fetch;
  headers?: Record<string, string>;
  /** A callback, true for a bar on stderr, false for silence; default: a bar when stderr is a TTY. */
  progress?: boolean | ProgressFn;
}

/** `missing` for 401/403/404 (the hub answers 401 for repositories that do not exist). */
export type DownloadResult = { ok: true } | { ok: false; status: number };

const MISSING = new Set([401, 403, 404]);

/**
 * Downloads `url` to `dest` atomically: bytes go to `dest.part`, resumed with a Range request when a
 * `.part` is already there, and the file is renamed into place only when complete.
 */
export async function downloadFile(
  url: string,
  dest: string,
  opts: DownloadOptions = {},
): Promise<DownloadResult> {
  const doFetch = opts.fetch ?? fetch;
  const part = `${dest}.part`;
  for (let attempt = 0; attempt < 2; attempt++) {
    const have = existsSync(part) ? statSync(part).size : 0;
    const headers = { ...opts.headers, ...(have > 0 ? { range: `bytes=${have}-` } : {}) };
    let res: Response;
    try {
      res = await doFetch(url, { headers, redirect: 'follow' });
    } catch (e) {
      throw new DownloadError(url, (e as Error).message);
    }
    if (MISSING.has(res.status)) {
      await res.body?.cancel();
      return { ok: false, status: res.status };
    }
    if (res.status === 416) {
      // The server cannot continue our .part (stale or changed upstream): start over once.
      await res.body?.cancel();
      unlinkSync(part);
      continue;
    }
    if (res.status !== 200 && res.status !== 206) {
      await res.body?.cancel();
      throw new DownloadError(url, `HTTP ${res.status} ${res.statusText}`);
    }
    const range = /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(res.headers.get('content-range') ?? '');
    const resumed = res.status === 206 && range !== null && Number(range[1]) === have;
    if (res.status === 206 && !resumed) {
      await res.body?.cancel();
      throw new DownloadError(
        url,
        `server resumed at ${res.headers.get('content-range')}, expected byte ${have}`,
      );
    }
    const length = res.headers.get('content-length');
    const total = resumed
      ? range[2] === '*'
        ? undefined
        : Number(range[2])
      : length === null
        ? undefined
        : Number(length);
    await receive(res, part, resumed ? have : 0, total, url, progressFn(opts.progress, basename(dest)));
    renameSync(part, dest);
    return { ok: true };
  }
  throw new DownloadError(url, 'server refused to resume or restart the download');
}

async function receive(
  res: Response,
  part: string,
  start: number,
  total: number | undefined,
  url: string,
  progress: ProgressFn | undefined,
): Promise<void> {
  const file = await open(part, start > 0 ? 'a' : 'w');
  let received = start;
  try {
    if (res.body) {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        await file.write(chunk);
        received += chunk.byteLength;
        progress?.(part, received, total);
      }
    }
  } catch (e) {
    throw new DownloadError(url, `${(e as Error).message} after ${received} bytes (rerun to resume)`);
  } finally {
    await file.close();
    progress?.(part, received, total);
  }
  if (total !== undefined && received !== total) {
    throw new DownloadError(url, `connection ended after ${received} of ${total} bytes (rerun to resume)`);
  }
}

function progressFn(option: DownloadOptions['progress'], name: string): ProgressFn | undefined {
  if (typeof option === 'function') return option;
  if (option === false || (option === undefined && !process.stderr.isTTY)) return undefined;
  let last = 0;
  return (_file, received, total) => {
    const now = Date.now();
    const done = total !== undefined && received >= total;
    if (now - last < 100 && !done) return;
    last = now;
    const mb = (n: number) => (n / 1e6).toFixed(1);
    const width = 30;
    const frac = total ? Math.min(1, received / total) : 0;
    const bar = total
      ? `[${'#'.repeat(Math.round(frac * width)).padEnd(width)}] ${(frac * 100).toFixed(0)}% `
      : '';
    const size = total ? `${mb(received)}/${mb(total)} MB` : `${mb(received)} MB`;
    process.stderr.write(`\r${name} ${bar}${size}${done ? '\n' : ''}`);
  };
}
