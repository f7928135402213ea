/** The server's API as the pages call it: the embedded view, JSON requests, a run's event stream. */
import type { ApiError, DreamRequestBody, DreamStarted, RunEvent } from '../src/server/types.ts';

/** The view the server embedded in the page (the same JSON as the page's path under /api). */
export function embeddedView<T>(): T {
  const element = document.getElementById('view');
  return JSON.parse(element?.textContent ?? 'null') as T;
}

/** An API error, with the server's name and message. */
export class ApiRequestError extends Error {
  constructor(
    readonly status: number,
    readonly body: ApiError,
  ) {
    super(`${body.error}: ${body.message}`);
    this.name = body.error;
  }
}

async function answer<T>(response: Response): Promise<T> {
  const body = (await response.json()) as T | ApiError;
  if (!response.ok) throw new ApiRequestError(response.status, body as ApiError);
  return body as T;
}

export const getJson = async <T>(path: string): Promise<T> =>
  answer<T>(await fetch(path, { headers: { Accept: 'application/json' } }));

/** The view of the page at `path`, fetched again (a page polls it while something runs). */
export const refreshView = <T>(): Promise<T> =>
  getJson<T>(`/api${location.pathname === '/' ? '/home' : location.pathname}${location.search}`);

export async function postJson<T>(path: string, body?: unknown): Promise<T> {
  return answer<T>(
    await fetch(path, {
      method: 'POST',
      headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    }),
  );
}

export const startDream = (body: DreamRequestBody): Promise<DreamStarted> =>
  postJson<DreamStarted>('/api/dreams', body);

export const cancelRun = (runId: number): Promise<{ runId: number; status: string }> =>
  postJson(`/api/runs/${runId}/cancel`);

/**
 * Follows a run's events: its state, each iteration as committed, its end. Returns a function that stops
 * following.
 */
export function followRun(runId: number, bar: number | null, on: (event: RunEvent) => void): () => void {
  const source = new EventSource(`/api/runs/${runId}/events${bar === null ? '' : `?bar=${bar}`}`);
  for (const type of ['state', 'iteration', 'end'] as const)
    source.addEventListener(type, (e) => {
      const event = JSON.parse((e as MessageEvent<string>).data) as RunEvent;
      on(event);
      if (event.type === 'end') source.close();
    });
  source.addEventListener('failure', () => source.close());
  return () => source.close();
}
