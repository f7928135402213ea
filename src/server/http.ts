/**
 * Reading requests and writing answers, with the checks every request passes: a path of well-formed
 * segments (no `.` or `..`, valid percent-encoding), a Host this server answers to, and for work (POST) the
 * same origin and a bounded JSON body.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  BadRequestError,
  ForbiddenError,
  PayloadTooLargeError,
  UnsupportedMediaTypeError,
} from './errors.ts';

/** Bytes of a request body, at most. */
export const BODY_LIMIT = 64 * 1024;

/** A request's path, split into its decoded segments, and its query. */
export interface RequestPath {
  segments: string[];
  query: URLSearchParams;
}

/**
 * The path of a request as sent (never normalized: a `..` is refused, not resolved), its segments decoded.
 * A segment may hold an encoded `/` (a model path, an SAE folder), never be `.` or `..`, nor hold a NUL.
 */
export function requestPath(url: string): RequestPath {
  const [raw = '', search = ''] = url.split(/\?(.*)/s, 2);
  if (!raw.startsWith('/'))
    throw new BadRequestError(`the request's path must start with /, got ${clip(raw)}`);
  const segments = raw
    .slice(1)
    .split('/')
    .map((segment) => {
      let decoded: string;
      try {
        decoded = decodeURIComponent(segment);
      } catch {
        throw new BadRequestError(`the path segment ${clip(segment)} is not valid percent-encoding`);
      }
      if (decoded === '.' || decoded === '..' || decoded.includes('\0'))
        throw new ForbiddenError(
          `the path ${clip(raw)} leaves the server's routes (a . or .. segment, or a NUL)`,
        );
      return decoded;
    });
  if (segments.at(-1) === '' && segments.length > 1) segments.pop();
  return { segments, query: new URLSearchParams(search) };
}

const clip = (text: string, width = 80): string =>
  JSON.stringify(text.length > width ? `${text.slice(0, width - 1)}…` : text);

const LOOPBACK_NAMES = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\])(?::\d+)?$/i;

/** Whether a bind address is the loopback interface. */
export const isLoopback = (host: string): boolean =>
  host === 'localhost' || host === '::1' || /^127(?:\.\d{1,3}){3}$/.test(host);

/**
 * A server bound to loopback answers only to loopback names in Host: a page of another site whose name was
 * made to resolve to 127.0.0.1 (DNS rebinding) gets a 403 instead of the store.
 */
export function checkHost(req: IncomingMessage, loopbackOnly: boolean): void {
  const host = req.headers.host;
  if (host === undefined) throw new BadRequestError('the request has no Host header');
  if (loopbackOnly && !LOOPBACK_NAMES.test(host))
    throw new ForbiddenError(
      `this server answers to localhost and 127.0.0.1 only, the request's Host is ${clip(host)}`,
    );
}

/**
 * Work (a POST) must come from this server's own pages: a browser's Sec-Fetch-Site, where sent, must be
 * same-origin, and its Origin, where sent, must be this server (the Host asked for). A client that sends
 * neither (curl, a script) is no page of another site, and passes.
 */
export function checkSameOrigin(req: IncomingMessage): void {
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin')
    throw new ForbiddenError(
      `work is started from this server's pages only; Sec-Fetch-Site is ${clip(site)}`,
    );
  const origin = req.headers.origin;
  if (origin === undefined) return;
  const expected = `http://${req.headers.host ?? ''}`;
  if (origin.toLowerCase() !== expected.toLowerCase())
    throw new ForbiddenError(
      `work is started from this server's pages only: Origin ${clip(origin)}, expected ${clip(expected)}`,
    );
}

/** The request's JSON body (an object), at most `limit` bytes as it streams in (a declared length is checked before). */
export async function readJson(req: IncomingMessage, limit = BODY_LIMIT): Promise<Record<string, unknown>> {
  const type = req.headers['content-type'] ?? '';
  if (!/^application\/json\s*(;|$)/i.test(type))
    throw new UnsupportedMediaTypeError(
      `the body must be application/json, got ${clip(type || 'no Content-Type')}`,
    );
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      req.resume();
      throw new PayloadTooLargeError(`the body is over ${limit} bytes, at most ${limit} are read`);
    }
    chunks.push(chunk);
  }
  let body: unknown;
  try {
    body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch (error) {
    throw new BadRequestError(`the body is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new BadRequestError(
      `the body must be a JSON object, got ${Array.isArray(body) ? 'an array' : typeof body}`,
    );
  return body as Record<string, unknown>;
}

/** Headers of every answer: nothing sniffed, framed or sent elsewhere; scripts and data from here only. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  'Content-Security-Policy':
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
};

/**
 * Headers of /play and of the static files (its script, onnxruntime-web's WebAssembly): WebAssembly may be
 * compiled ('wasm-unsafe-eval', nothing else is evaluated), and the page is cross-origin isolated (COOP +
 * COEP), which gives it SharedArrayBuffer and so onnxruntime-web's threads.
 */
export const PLAY_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy': SECURITY_HEADERS['Content-Security-Policy']!.replace(
    "script-src 'self'",
    "script-src 'self' 'wasm-unsafe-eval'",
  ),
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

export function send(
  res: ServerResponse,
  status: number,
  type: string,
  body: string | Buffer,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    'Content-Type': type,
    'Content-Length': String(Buffer.byteLength(body)),
    'Cache-Control': 'no-store',
    ...headers,
  });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

export const sendJson = (
  res: ServerResponse,
  status: number,
  value: unknown,
  headers?: Record<string, string>,
) => send(res, status, 'application/json; charset=utf-8', JSON.stringify(value), headers);
