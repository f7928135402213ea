/**
 * `reverie serve`: a local web app over the store (Node's http, no framework). It binds 127.0.0.1 by
 * default and then answers only to loopback names; work (starting and cancelling dreams) is POST from the
 * same origin; paths never leave the routes and the static root; every error is an answer (4xx for the
 * request's mistakes, a named 500 otherwise) and the server goes on.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { openStore } from '../store/database.ts';
import { statusOf, MethodNotAllowedError } from './errors.ts';
import { checkHost, isLoopback, send, sendJson } from './http.ts';
import { DreamJobs, type ModelLoader } from './jobs.ts';
import { pageHtml } from './pages.ts';
import { route, type RouteContext } from './routes.ts';
import { bundleBuilt, defaultStaticRoot } from './static.ts';
import { TextCache } from './texts.ts';
import type { ApiError } from './types.ts';

export const DEFAULT_PORT = 7860;
export const DEFAULT_HOST = '127.0.0.1';

/** A server that cannot start: its port taken, its address not this machine's. */
export class ServeError extends Error {
  override name = 'ServeError';
}

export interface ServeOptions {
  /** The store's path (created if missing). */
  store: string;
  /** 0 for any free port. */
  port?: number;
  host?: string;
  /** The web bundle's folder (default: dist/web of this package). */
  staticRoot?: string;
  /** Threads the server's dreams may use together (default: the cores). */
  maxThreads?: number;
  loadModel?: ModelLoader;
  /** Where errors are logged (default: stderr). */
  log?: (line: string) => void;
}

export interface RunningServer {
  url: string;
  host: string;
  port: number;
  jobs: DreamJobs;
  /** Stops the dreams after their iteration (kept), ends the streams, closes the store. */
  close(): Promise<void>;
}

export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const host = options.host ?? DEFAULT_HOST;
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const db = openStore(options.store);
  const jobs = new DreamJobs(db, options.maxThreads, options.loadModel, (runId, error) =>
    log(`run ${runId} failed: ${(error as Error).name}: ${(error as Error).message}`),
  );
  const context: RouteContext = {
    db,
    texts: new TextCache(),
    jobs,
    staticRoot: options.staticRoot ?? defaultStaticRoot(),
    open: new Set(),
  };
  const loopbackOnly = isLoopback(host);

  const answer = (req: IncomingMessage, res: ServerResponse, error: unknown): void => {
    const status = statusOf(error);
    const e = error instanceof Error ? error : new Error(String(error));
    if (status === 500) log(`${req.method} ${req.url}: ${e.stack ?? e.message}`);
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const body: ApiError = { error: e.name, message: e.message };
    const headers: Record<string, string> =
      error instanceof MethodNotAllowedError ? { Allow: error.allow } : {};
    if (req.url?.startsWith('/api/') || req.url?.startsWith('/static/'))
      return sendJson(res, status, body, headers);
    send(
      res,
      status,
      'text/html; charset=utf-8',
      pageHtml('error', `${status} ${e.name}`, body, {
        store: db.name,
        bundle: bundleBuilt(context.staticRoot),
      }),
      headers,
    );
  };

  const server = createServer((req, res) => {
    try {
      checkHost(req, loopbackOnly);
      route(context, req, res).catch((error: unknown) => answer(req, res, error));
    } catch (error) {
      answer(req, res, error);
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      db.close();
      reject(
        new ServeError(
          error.code === 'EADDRINUSE'
            ? `port ${options.port ?? DEFAULT_PORT} on ${host} is taken: choose another with --port`
            : `cannot listen on ${host}:${options.port ?? DEFAULT_PORT}: ${error.message}`,
        ),
      );
    });
    server.listen(options.port ?? DEFAULT_PORT, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}/`;
  let closed: Promise<void> | undefined;
  return {
    url,
    host,
    port,
    jobs,
    close: () =>
      (closed ??= (async () => {
        server.close();
        await jobs.close();
        for (const res of context.open) res.end();
        server.closeAllConnections();
        db.close();
      })()),
  };
}
