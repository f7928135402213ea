/**
 * A run's iterations as server-sent events, as the store commits them: first its `state` (everything so
 * far), then an `iteration` event per committed iteration (its best so far and the frontier), and `end` once
 * the run no longer runs. The store is the one source: a dream of this server wakes the stream as soon as it
 * commits, a run written by another process (`reverie dream`, a sweep's worker) is polled for.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Db } from '../store/database.ts';
import { findRun } from '../store/runs.ts';
import { SECURITY_HEADERS } from './http.ts';
import type { DreamJobs } from './jobs.ts';
import { iterationsAfter, runProgress } from './progress.ts';
import type { TextCache } from './texts.ts';
import type { RunEvent } from './types.ts';
import { runInfo } from './views/info.ts';

/** How often a run written elsewhere is polled, and how often an idle stream says it is alive. */
const POLL_MS = 500;
const KEEPALIVE_MS = 15_000;

const write = (res: ServerResponse, event: RunEvent, id?: number): void => {
  res.write(
    `event: ${event.type}\n${id === undefined ? '' : `id: ${id}\n`}data: ${JSON.stringify(event)}\n\n`,
  );
};

export interface StreamContext {
  db: Db;
  texts: TextCache;
  jobs: DreamJobs;
  /** Open streams, ended when the server closes. */
  open: Set<ServerResponse>;
}

export async function streamRun(
  req: IncomingMessage,
  res: ServerResponse,
  context: StreamContext,
  runId: number,
  bar: number | null,
): Promise<void> {
  const { db, jobs } = context;
  const row = findRun(db, runId); // a 404 before anything is sent
  const texts = await context.texts.of(row.model.id);
  const info = () => runInfo(db, findRun(db, runId), jobs);
  const { progress, tracker } = runProgress(db, { id: runId, label: info().label }, texts, bar);

  res.writeHead(200, {
    ...SECURITY_HEADERS,
    'Content-Type': 'text/event-stream; charset=utf-8',
    'Cache-Control': 'no-store',
    Connection: 'keep-alive',
  });
  context.open.add(res);
  write(res, { type: 'state', run: info(), progress }, tracker.iter);

  let ended = false;
  const poll = (): void => {
    if (ended) return;
    try {
      let added = false;
      for (const { iter, candidates } of iterationsAfter(db, runId, tracker.iter)) {
        const point = tracker.add(iter, candidates);
        write(res, { type: 'iteration', iter, best: point.best, frontier: tracker.points(texts) }, iter);
        added = true;
      }
      const now = info();
      if (!added && now.status !== 'running') {
        write(res, { type: 'end', run: now });
        finish();
      }
    } catch (error) {
      res.write(
        `event: failure\ndata: ${JSON.stringify({ error: (error as Error).name, message: (error as Error).message })}\n\n`,
      );
      finish();
    }
  };
  const wake = (id: number | undefined) => {
    if (id === runId) poll();
  };
  const timer = setInterval(poll, POLL_MS);
  const keepalive = setInterval(() => res.write(': alive\n\n'), KEEPALIVE_MS);
  jobs.events.on('iteration', wake);
  jobs.events.on('end', wake);
  function finish(): void {
    if (ended) return;
    ended = true;
    clearInterval(timer);
    clearInterval(keepalive);
    jobs.events.off('iteration', wake);
    jobs.events.off('end', wake);
    context.open.delete(res);
    res.end();
  }
  req.on('close', finish);
  poll();
}
