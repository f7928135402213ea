/**
 * The server's stable URLs: `/runs/ID`, `/sweeps/ID`, `/scans/ID` (a multi-feature scan) and a feature's
 * page `/m/MODEL/f/HOOK/INDEX`, e.g. `/m/karpathy/tinyllamas/stories260K/f/blocks.2.mlp.hook_post/17`: the
 * same feature of the same model has the same URL in any store. A model id's `/` stay as they are where it is
 * a plain hub id, else it is one encoded segment; a hook with a `/` (an SAE folder) is one encoded segment.
 */
import { BadRequestError } from './errors.ts';

/** A store id from a URL: a positive integer, else a 400 naming what it is an id of. */
export function parseId(what: string, raw: string | undefined): number {
  if (raw === undefined || !/^[1-9]\d{0,14}$/.test(raw))
    throw new BadRequestError(
      `a ${what} id is a positive integer (reverie ls lists them), got ${JSON.stringify((raw ?? '').slice(0, 40))}`,
    );
  return Number(raw);
}

/** An optional id of the query (`?sweep=3`). */
export function queryId(what: string, query: URLSearchParams): number | undefined {
  const raw = query.get(what);
  return raw === null ? undefined : parseId(what, raw);
}

/** A target of one feature: `HOOK[N]`, `HOOK[N]@P` or `sae:DIR[N]`. */
const FEATURE = /^(sae:.+|[\w.]+)\[(\d+)\](@-?\d+)?$/s;

/** A feature's hook and index (with its `@P`), where the target is one feature; else undefined. */
export function featureOf(target: string): { hook: string; index: string } | undefined {
  const m = FEATURE.exec(target);
  return m ? { hook: m[1] as string, index: `${m[2]}${m[3] ?? ''}` } : undefined;
}

const PLAIN_MODEL = /^[\w-][\w.-]*(\/[\w-][\w.-]*)*$/;

/** The path of a feature's page (under `/api` for its JSON), or null where the target is no one feature. */
export function featureUrl(model: string, target: string, prefix = ''): string | null {
  const feature = featureOf(target);
  if (!feature) return null;
  const modelPath = PLAIN_MODEL.test(model)
    ? model.split('/').map(encodeURIComponent).join('/')
    : encodeURIComponent(model);
  return `${prefix}/m/${modelPath}/f/${encodeURIComponent(feature.hook)}/${encodeURIComponent(feature.index)}`;
}

/** The model and target of a feature path's segments (after `m`): MODEL…, `f`, HOOK, INDEX. */
export function parseFeaturePath(segments: readonly string[]): { model: string; target: string } {
  const n = segments.length;
  const index = segments[n - 1] ?? '';
  const hook = segments[n - 2] ?? '';
  if (n < 4 || segments[n - 3] !== 'f')
    throw new BadRequestError(
      'a feature is named /m/MODEL/f/HOOK/INDEX, e.g. /m/karpathy/tinyllamas/stories260K/f/blocks.2.mlp.hook_post/17',
    );
  const model = segments.slice(0, n - 3).join('/');
  if (model === '') throw new BadRequestError('the feature path names no model: /m/MODEL/f/HOOK/INDEX');
  if (!/^\d{1,9}(@-?\d{1,9})?$/.test(index))
    throw new BadRequestError(
      `a feature's index is a number (with @P for a position), got ${JSON.stringify(index.slice(0, 40))}`,
    );
  if (!/^[\w.]{1,200}$/.test(hook) && !/^sae:.{1,1000}$/s.test(hook))
    throw new BadRequestError(
      `a feature's hook is a hook name or sae:DIR, got ${JSON.stringify(hook.slice(0, 40))}`,
    );
  const [n0, at] = index.split('@');
  return { model, target: `${hook}[${Number(n0)}]${at === undefined ? '' : `@${Number(at)}`}` };
}

export const runUrl = (id: number): string => `/runs/${id}`;
export const sweepUrl = (id: number): string => `/sweeps/${id}`;
export const scanUrl = (id: number): string => `/scans/${id}`;
