/**
 * The server's routes. Every page has a stable URL and its data at the same path under /api:
 *
 *   GET  /                             home: models, sweeps (live), recent dreams and scans
 *   GET  /sweeps/ID                    a sweep's layer page
 *   GET  /scans/ID                     a multi-feature scan's layer page
 *   GET  /m/MODEL/f/HOOK/INDEX         a feature's page (?sweep=ID, ?scan=ID choose among those holding it)
 *   GET  /runs/ID                      a run's page
 *   GET  /api/runs/ID/events           its iterations as server-sent events (?bar=XENT: the fluency bar)
 *   POST /api/dreams                   start a dream here: {model?, target, iters?, seed?, seqLen?} → 201 {runId}
 *   POST /api/runs/ID/cancel           stop a dream of this server after its iteration → 202
 *   GET  /static/NAME                  the web bundle
 *   GET  /play                         dream in the browser: stories260K in onnxruntime-web, no server work
 *   GET  /play/stories260K.bin, /play/tok512.bin   the model and tokenizer it fetches
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { DEFAULT_MODEL, resolveModel } from '../io/resolve.ts';
import { readFileBytes } from '../io/files.ts';
import type { Db } from '../store/database.ts';
import { findRun } from '../store/runs.ts';
import {
  BadRequestError,
  ConflictError,
  MethodNotAllowedError,
  NotFoundError,
  PayloadTooLargeError,
} from './errors.ts';
import { streamRun, type StreamContext } from './events.ts';
import { BODY_LIMIT, checkSameOrigin, PLAY_HEADERS, readJson, requestPath, send, sendJson } from './http.ts';
import type { DreamJobs } from './jobs.ts';
import { knownModel, knownTarget } from './lookup.ts';
import { pageHtml, playHtml, type PageKind } from './pages.ts';
import { bundleBuilt, staticFile } from './static.ts';
import type { TextCache } from './texts.ts';
import type { DreamStarted } from './types.ts';
import { parseFeaturePath, parseId, queryId, runUrl } from './urls.ts';
import { featureView } from './views/feature.ts';
import { homeView } from './views/home.ts';
import { featureScanView, sweepView } from './views/layer.ts';
import { runView } from './views/run.ts';

export interface RouteContext extends StreamContext {
  db: Db;
  texts: TextCache;
  jobs: DreamJobs;
  staticRoot: string;
}

/** A page's view: built from the path's segments and the query, answered as HTML or (under /api) JSON. */
interface ViewRoute {
  kind: PageKind;
  match: (segments: readonly string[]) => boolean;
  build: (
    context: RouteContext,
    segments: readonly string[],
    query: URLSearchParams,
  ) => Promise<{ title: string; view: unknown }>;
}

const is =
  (...pattern: string[]) =>
  (segments: readonly string[]): boolean =>
    segments.length === pattern.length && pattern.every((p, i) => p === '*' || p === segments[i]);

const VIEWS: readonly ViewRoute[] = [
  {
    kind: 'home',
    match: (segments) => is('')(segments) || is('home')(segments),
    build: async ({ db, jobs }) => ({ title: 'reverie', view: homeView(db, jobs) }),
  },
  {
    kind: 'layer',
    match: is('sweeps', '*'),
    build: async ({ db }, [, id]) => {
      const view = sweepView(db, parseId('sweep', id));
      return { title: view.title, view };
    },
  },
  {
    kind: 'layer',
    match: is('scans', '*'),
    build: async ({ db }, [, id]) => {
      const view = featureScanView(db, parseId('scan', id));
      return { title: view.title, view };
    },
  },
  {
    kind: 'run',
    match: is('runs', '*'),
    build: async ({ db, texts, jobs }, [, id]) => {
      const view = await runView(db, texts, jobs, parseId('run', id));
      return { title: `${view.run.label}: ${view.run.target}`, view };
    },
  },
  {
    kind: 'feature',
    match: (segments) => segments[0] === 'm',
    build: async ({ db, texts, jobs }, segments, query) => {
      const { model, target } = parseFeaturePath(segments.slice(1));
      const sweep = queryId('sweep', query);
      const scan = queryId('scan', query);
      const view = await featureView(db, texts, jobs, model, target, {
        ...(sweep !== undefined && { sweep }),
        ...(scan !== undefined && { scan }),
      });
      return { title: `${target} · ${model}`, view };
    },
  },
];

/** File-free targets: a hook's entry or a logit (an SAE folder or a direction file is read only where the store already has the target). */
const FILE_FREE_TARGET = /^([\w.]+\[[^\]]*\](@-?\d+)?|logit:.*)$/s;
const DREAM_FIELDS = ['model', 'target', 'iters', 'seed', 'seqLen'];

function integerField(
  body: Record<string, unknown>,
  name: string,
  min: number,
  max: number,
): number | undefined {
  const value = body[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max)
    throw new BadRequestError(`${name} must be an integer in ${min}..${max}, got ${JSON.stringify(value)}`);
  return value;
}

async function startDream(context: RouteContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const body = await readJson(req);
  const unknown = Object.keys(body).filter((k) => !DREAM_FIELDS.includes(k));
  if (unknown.length > 0)
    throw new BadRequestError(
      `unknown field${unknown.length === 1 ? '' : 's'} ${unknown.join(', ')}; a dream takes ${DREAM_FIELDS.join(', ')}`,
    );
  const { target } = body;
  if (typeof target !== 'string' || target.trim() === '' || target.length > 1000)
    throw new BadRequestError(
      'target must be a target spec (a string of at most 1000 characters), e.g. blocks.2.mlp.hook_post[17]',
    );
  const model = body.model ?? DEFAULT_MODEL;
  if (typeof model !== 'string' || model.length > 1000)
    throw new BadRequestError('model must be a model id (a string)');
  const { db, jobs } = context;
  if (model !== DEFAULT_MODEL && !knownModel(db, model))
    throw new BadRequestError(
      `model ${JSON.stringify(model)} is not in the store: the server dreams ${DEFAULT_MODEL} and the models the store has used`,
    );
  const spec = target.trim();
  if (!FILE_FREE_TARGET.test(spec) && !knownTarget(db, model, spec))
    throw new BadRequestError(
      `the server dreams hook and logit targets, and targets the store already has; ${JSON.stringify(spec.slice(0, 80))} reads a file: dream it with reverie dream first`,
    );
  const iters = integerField(body, 'iters', 1, 100_000);
  const seed = integerField(body, 'seed', 0, 2 ** 32 - 1);
  const seqLen = integerField(body, 'seqLen', 1, 4096);
  const runId = await jobs.start({
    model,
    target: spec,
    options: {
      ...(iters !== undefined && { iters }),
      ...(seed !== undefined && { seed }),
      ...(seqLen !== undefined && { seqLen }),
    },
  });
  const started: DreamStarted = { runId, url: runUrl(runId), events: `/api/runs/${runId}/events` };
  sendJson(res, 201, started, { Location: started.url });
}

function cancelDream(context: RouteContext, res: ServerResponse, id: number): void {
  const row = findRun(context.db, id);
  if (context.jobs.cancel(id)) return sendJson(res, 202, { runId: id, status: 'stopping' });
  if (row.writer)
    throw new ConflictError(
      `run ${id} is written by process ${row.writer.pid} on ${row.writer.host}, not by this server: stop it there`,
    );
  throw new ConflictError(`run ${id} is not running (it is ${row.status})`);
}

/** Answers one request; any error is thrown to the caller, which answers it. */
export async function route(context: RouteContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const { segments, query } = requestPath(req.url ?? '/');
  const method = req.method ?? 'GET';
  const api = segments[0] === 'api';
  const rest = api ? segments.slice(1) : segments;
  const read = method === 'GET' || method === 'HEAD';
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > BODY_LIMIT) {
    req.resume();
    throw new PayloadTooLargeError(`the body is ${declared} bytes, at most ${BODY_LIMIT} are read`);
  }

  if (api && rest[0] === 'dreams' && rest.length === 1) {
    if (method !== 'POST') throw new MethodNotAllowedError('POST /api/dreams starts a dream', 'POST');
    checkSameOrigin(req);
    return startDream(context, req, res);
  }
  if (api && is('runs', '*', 'cancel')(rest)) {
    if (method !== 'POST') throw new MethodNotAllowedError(`POST ${req.url} cancels a dream`, 'POST');
    checkSameOrigin(req);
    const id = parseId('run', rest[1]);
    req.resume();
    return cancelDream(context, res, id);
  }
  if (api && is('runs', '*', 'events')(rest)) {
    if (method !== 'GET') throw new MethodNotAllowedError('the events of a run are read with GET', 'GET');
    const raw = query.get('bar');
    const bar = raw === null ? null : Number(raw);
    if (bar !== null && !Number.isFinite(bar))
      throw new BadRequestError(`bar must be a number, got ${JSON.stringify(raw)}`);
    return streamRun(req, res, context, parseId('run', rest[1]), bar);
  }
  if (!api && segments[0] === 'static') {
    if (!read) throw new MethodNotAllowedError('static files are read with GET', 'GET, HEAD');
    const file = staticFile(context.staticRoot, segments.slice(1));
    return send(res, 200, file.type, file.body, { ...PLAY_HEADERS, 'Cache-Control': 'no-cache' });
  }
  if (!api && segments[0] === 'play') return playRoute(context, segments.slice(1), read, res);
  const view = VIEWS.find((v) => v.match(rest));
  if (!view) throw new NotFoundError(`no page at ${JSON.stringify((req.url ?? '').slice(0, 200))}`);
  if (!read) throw new MethodNotAllowedError(`${req.url} is read with GET`, 'GET, HEAD');
  const { title, view: data } = await view.build(context, rest, query);
  if (api) return sendJson(res, 200, data);
  send(
    res,
    200,
    'text/html; charset=utf-8',
    pageHtml(view.kind, title, data, { store: context.db.name, bundle: bundleBuilt(context.staticRoot) }),
  );
}

/** The files /play fetches: the default model (stories260K) and its tokenizer, found offline. */
const PLAY_FILES: Readonly<Record<string, 'weights' | 'tokenizer'>> = {
  'stories260K.bin': 'weights',
  'tok512.bin': 'tokenizer',
};

async function playRoute(
  context: RouteContext,
  rest: readonly string[],
  read: boolean,
  res: ServerResponse,
): Promise<void> {
  if (!read) throw new MethodNotAllowedError('/play is read with GET', 'GET, HEAD');
  if (rest.length === 0) {
    const view = { weights: '/play/stories260K.bin', tokenizer: '/play/tok512.bin', wasm: '/static/' };
    const html = bundleBuilt(context.staticRoot)
      ? playHtml(view, { assets: '/static/', home: '/' })
      : pageHtml(
          'error',
          'Dream in the browser',
          { message: 'the web bundle is not built' },
          {
            store: context.db.name,
            bundle: false,
          },
        );
    return send(res, 200, 'text/html; charset=utf-8', html, PLAY_HEADERS);
  }
  const which = rest.length === 1 ? PLAY_FILES[rest[0] as string] : undefined;
  if (!which) throw new NotFoundError(`no file ${JSON.stringify(rest.join('/').slice(0, 80))} under /play`);
  const path = (await resolveModel(DEFAULT_MODEL, { offline: true })).files[which];
  if (!path) throw new NotFoundError(`${DEFAULT_MODEL} has no ${which} file here`);
  return send(res, 200, 'application/octet-stream', readFileBytes(path), {
    ...PLAY_HEADERS,
    'Cache-Control': 'no-cache',
  });
}
