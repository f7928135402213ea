/**
 * A real store for the server's tests: a small finished sweep of stories260K (two neurons, their scan,
 * dreams and attributions) and a document-context scan of the same neurons; the web bundle built beside it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { scanFeatures } from '../../src/data/feature-scan.ts';
import { sha256Files } from '../../src/dream/run.ts';
import { resolveModel } from '../../src/io/resolve.ts';
import { loadModel } from '../../src/models/load.ts';
import { openStore } from '../../src/store/database.ts';
import { saveFeatureScan } from '../../src/store/feature-scans.ts';
import type { SweepRow } from '../../src/store/sweeps.ts';
import { sweep } from '../../src/sweep/sweep.ts';
import { buildWeb } from '../../web/build.ts';

export const MODEL = 'karpathy/tinyllamas/stories260K';
export const CORPUS = '../shared/corpora/tinystories/validation-head.txt';
export const SET = 'blocks.2.mlp.hook_post[0:2]';

export interface Fixture {
  dir: string;
  store: string;
  staticRoot: string;
  sweep: SweepRow;
  documentScanId: number;
  remove(): void;
}

export async function makeFixture(): Promise<Fixture> {
  const dir = mkdtempSync(join(tmpdir(), 'reverie-serve-'));
  const store = join(dir, 'reverie.db');
  const staticRoot = join(dir, 'web');
  await buildWeb(staticRoot);
  const model = await loadModel(MODEL);
  const modelSha256 = sha256Files([(await resolveModel(MODEL)).files.weights]);
  const swept = await sweep({
    store,
    model,
    modelRef: MODEL,
    modelSha256,
    target: SET,
    corpus: [CORPUS],
    maxTokens: 2000,
    top: 8,
    options: { iters: 5, population: 4, childrenPerMember: 8, topk: 32 },
    attributionK: 4,
    jobs: 1,
  });
  const scan = await scanFeatures({
    model,
    target: SET,
    corpus: [CORPUS],
    maxTokens: 2000,
    top: 4,
    context: 'document',
  });
  const db = openStore(store);
  const documentScanId = saveFeatureScan(db, scan, modelSha256);
  db.close();
  return {
    dir,
    store,
    staticRoot,
    sweep: swept,
    documentScanId,
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export interface RawAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A request sent as written (fetch would resolve a `..` before sending it). */
export function raw(
  url: string,
  path: string,
  options: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {},
): Promise<RawAnswer> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request(
      { host: hostname, port, path, method: options.method ?? 'GET', headers: options.headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

export interface StreamEvent {
  type: string;
  data: Record<string, unknown>;
}

/** The events of a server-sent stream, read one at a time. */
export class EventReader {
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>;
  private readonly decoder = new TextDecoder();
  private buffer = '';
  readonly seen: StreamEvent[] = [];

  constructor(response: Response) {
    this.reader = (response.body as ReadableStream<Uint8Array>).getReader();
  }

  /** The next event; undefined once the stream has ended. */
  async next(): Promise<StreamEvent | undefined> {
    for (;;) {
      const end = this.buffer.indexOf('\n\n');
      if (end >= 0) {
        const block = this.buffer.slice(0, end);
        this.buffer = this.buffer.slice(end + 2);
        const type = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (type === undefined || data === undefined) continue;
        const event = { type, data: JSON.parse(data) as Record<string, unknown> };
        this.seen.push(event);
        return event;
      }
      const { done, value } = await this.reader.read();
      if (done) return undefined;
      this.buffer += this.decoder.decode(value, { stream: true });
    }
  }

  /** Events up to and including the first of `type`; undefined where the stream ends first. */
  async until(type: string): Promise<StreamEvent | undefined> {
    for (let event = await this.next(); event; event = await this.next())
      if (event.type === type) return event;
    return undefined;
  }

  close(): Promise<void> {
    return this.reader.cancel();
  }
}
