/**
 * A real Redis for the queue tests: Debian's redis-server (.ci/run installs it) on a free loopback port, in a
 * throw-away directory, without persistence; stopped (and started again on the same port) at will.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';

const REDIS_SERVER = ['/usr/bin/redis-server', '/usr/local/bin/redis-server'].find(existsSync);

/** A free TCP port on the loopback interface. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export class TestRedis {
  private process: ChildProcess | undefined;
  private readonly dir = mkdtempSync(join(tmpdir(), 'reverie-redis-'));

  private constructor(
    readonly port: number,
    private readonly password?: string,
  ) {}

  /** Starts redis-server on a free port; with a password, clients must give it (requirepass). */
  static async start(options: { password?: string } = {}): Promise<TestRedis> {
    if (!REDIS_SERVER)
      throw new Error('redis-server is not installed (apt-get install redis-server; .ci/run does)');
    const redis = new TestRedis(await freePort(), options.password);
    await redis.restart();
    return redis;
  }

  /** The URL clients connect with (the password in it, where there is one). */
  get url(): string {
    return this.password === undefined
      ? `redis://127.0.0.1:${this.port}`
      : `redis://:${this.password}@127.0.0.1:${this.port}`;
  }

  /** Starts the server (again) on its port, empty; resolves once it answers. */
  async restart(): Promise<void> {
    if (this.process) throw new Error(`redis-server on port ${this.port} is running: stop it first`);
    const args = [
      '--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir,
      '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--loglevel', 'warning',
      ...(this.password === undefined ? [] : ['--requirepass', this.password]),
    ]; // prettier-ignore
    const child = spawn(REDIS_SERVER as string, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    this.process = child;
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`redis-server exited (${child.exitCode}): ${stderr}`);
      const client = new Redis(this.url, {
        lazyConnect: true,
        retryStrategy: () => null,
        maxRetriesPerRequest: 0,
      });
      client.on('error', () => {});
      try {
        await client.connect();
        await client.ping();
        return;
      } catch (error) {
        if (Date.now() > deadline)
          throw new Error(`redis-server did not answer on port ${this.port}: ${error}`);
        await new Promise((r) => setTimeout(r, 50));
      } finally {
        client.disconnect();
      }
    }
  }

  /** Stops the server (its data is gone: there is no persistence). */
  async stop(): Promise<void> {
    const child = this.process;
    if (!child) return;
    this.process = undefined;
    if (child.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      child.on('exit', () => resolve());
      child.kill('SIGKILL');
    });
  }

  /** Stops the server and removes its directory. */
  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
