/**
 * Redis for the sweep queue: its URL checked and masked (a password is never printed), and connections as
 * BullMQ needs them (ioredis, commands waiting while Redis is away, reconnecting when it returns). Reaching
 * Redis at first is checked apart, fail-fast, so that a wrong URL is an error naming it, not a hang.
 */
import { Redis, type RedisOptions } from 'ioredis';

/** Redis cannot be reached at a URL, or the URL is not one. */
export class QueueConnectionError extends Error {
  override name = 'QueueConnectionError';
}

/** A Redis URL with its password (and a user name's secret part) hidden: what may be printed. */
export function maskUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString().replace(/\/$/, '');
  } catch {
    // Not a URL: at most its scheme and host may be shown, never what looks like credentials.
    return url.replace(/\/\/[^@/]*@/, '//***@');
  }
}

/** Checks a queue URL's shape: redis:// or rediss:// (TLS), a host, an optional port and /DB. */
export function checkQueueUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new QueueConnectionError(
      `--queue ${maskUrl(url)} is not a URL: expected redis://[:PASSWORD@]HOST:PORT[/DB] or rediss://…`,
    );
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:')
    throw new QueueConnectionError(
      `--queue ${maskUrl(url)}: expected a redis:// or rediss:// URL, got ${parsed.protocol}//`,
    );
  if (!parsed.hostname) throw new QueueConnectionError(`--queue ${maskUrl(url)} names no host`);
  if (parsed.pathname.length > 1 && !/^\/\d+$/.test(parsed.pathname))
    throw new QueueConnectionError(
      `--queue ${maskUrl(url)}: the path is the database, a number (/0), got ${parsed.pathname}`,
    );
  return url;
}

/** A connection for BullMQ: commands wait (and ioredis reconnects) while Redis is away. */
export function connect(url: string, options: RedisOptions = {}): Redis {
  const client = new Redis(url, {
    maxRetriesPerRequest: null,
    retryStrategy: (times) => Math.min(200 * times, 2000),
    ...options,
  });
  // ioredis reports each failed reconnection as an error event; the retry is what matters, not the noise.
  client.on('error', () => {});
  return client;
}

/** Resolves once Redis answers at `url`; a QueueConnectionError naming the (masked) URL if it does not. */
export async function checkReachable(url: string, timeoutMs = 5000): Promise<void> {
  checkQueueUrl(url);
  const probe = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  let last: Error | undefined;
  probe.on('error', (error: Error) => (last = error));
  try {
    await probe.connect();
    await probe.ping();
  } catch (error) {
    const why = (last ?? (error as Error)).message;
    throw new QueueConnectionError(
      `cannot reach Redis at ${maskUrl(url)}: ${why} (is redis-server running there, and the password right?)`,
    );
  } finally {
    probe.disconnect();
  }
}
