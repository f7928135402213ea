import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DownloadError, ModelNotFoundError } from '../../src/io/errors.ts';
import { DEFAULT_MODEL, parseHubId, resolveModel } from '../../src/io/resolve.ts';
import { encodeSafetensors } from '../../src/io/safetensors.ts';

const models = process.env.REVERIE_MODEL_PATH ?? '../shared/models';
const stories = resolve(models, 'karpathy/tinyllamas/stories260K');
const tmp = mkdtempSync(join(tmpdir(), 'reverie-resolve-'));

const weights = encodeSafetensors({ w: { shape: [1000], data: new Float32Array(1000).fill(0.5) } });
const shard1 = encodeSafetensors({ a: { shape: [3], data: new Float32Array(3) } });
const shard2 = encodeSafetensors({ b: { shape: [5], data: new Float32Array(5) } });
const config = readFileSync('../shared/fixtures/gpt2-tiny-random/config.json');
const files: Record<string, Uint8Array | string> = {
  '/acme/tiny/resolve/main/config.json': config,
  '/acme/tiny/resolve/main/model.safetensors': weights,
  '/acme/tiny/resolve/main/tokenizer.json': '{}',
  '/acme/sharded/resolve/main/sub/config.json': config,
  '/acme/sharded/resolve/main/sub/model.safetensors.index.json': JSON.stringify({
    weight_map: { a: 'model-1.safetensors', b: 'model-2.safetensors' },
  }),
  '/acme/sharded/resolve/main/sub/model-1.safetensors': shard1,
  '/acme/sharded/resolve/main/sub/model-2.safetensors': shard2,
  '/acme/noweights/resolve/main/config.json': config,
  '/acme/flaky/resolve/main/config.json': config,
  '/acme/flaky/resolve/main/model.safetensors': weights,
  '/karpathy/tinyllamas/resolve/main/stories260K/stories260K.bin': readFileSync(
    join(stories, 'stories260K.bin'),
  ),
  '/karpathy/tinyllamas/resolve/main/stories260K/tok512.bin': readFileSync(join(stories, 'tok512.bin')),
  '/api/models/karpathy/tinyllamas/tree/main/stories260K': JSON.stringify([
    { type: 'file', path: 'stories260K/stories260K.bin' },
    { type: 'file', path: 'stories260K/tok512.bin' },
  ]),
};
const requests: { url: string; range?: string }[] = [];
let dropConnection = () => {};

function serve(req: IncomingMessage, res: ServerResponse): void {
  requests.push({ url: req.url!, ...(req.headers.range && { range: req.headers.range }) });
  if (req.url === '/broken/repo/resolve/main/config.json') return void res.writeHead(500).end();
  if (req.url === '/acme/flaky/resolve/main/model.safetensors' && !req.headers.range) {
    // Sends 2000 bytes of the full file; the connection drops once the client has stored them.
    res.writeHead(200, { 'content-length': weights.length });
    dropConnection = () => res.destroy();
    return void res.write(weights.subarray(0, 2000));
  }
  const body = files[req.url!];
  if (body === undefined) return void res.writeHead(404).end('Entry not found');
  const bytes = typeof body === 'string' ? Buffer.from(body) : Buffer.from(body);
  const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
  if (m) {
    const start = Number(m[1]);
    if (start >= bytes.length) return void res.writeHead(416).end();
    res.writeHead(206, {
      'content-length': bytes.length - start,
      'content-range': `bytes ${start}-${bytes.length - 1}/${bytes.length}`,
    });
    return void res.end(bytes.subarray(start));
  }
  res.writeHead(200, { 'content-length': bytes.length }).end(bytes);
}

let server: Server;
let hubUrl: string;
beforeAll(async () => {
  server = createServer(serve);
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  hubUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((done) => server.close(done));
  rmSync(tmp, { recursive: true, force: true });
});

const freshCache = () => mkdtempSync(join(tmp, 'cache-'));
const online = (cacheDir: string) => ({ offline: false, hubUrl, cacheDir, modelPath: [], progress: false });

describe('model resolution from local paths', () => {
  it('finds the default model on REVERIE_MODEL_PATH as a llama2.c checkpoint with its tokenizer', async () => {
    const m = await resolveModel(DEFAULT_MODEL);
    expect(DEFAULT_MODEL).toBe('karpathy/tinyllamas/stories260K');
    expect(m).toEqual({
      id: DEFAULT_MODEL,
      dir: stories,
      format: 'llama2c',
      files: { weights: join(stories, 'stories260K.bin'), tokenizer: join(stories, 'tok512.bin') },
    });
  });

  it('uses an existing Hugging Face directory as is', async () => {
    const dir = resolve('../shared/fixtures/llama-tiny-random');
    const m = await resolveModel('../shared/fixtures/llama-tiny-random');
    expect(m.format).toBe('hf');
    expect(m.dir).toBe(dir);
    expect(m.files).toEqual({ config: join(dir, 'config.json'), weights: join(dir, 'model.safetensors') });
  });

  it('uses an existing llama2.c .bin file as is', async () => {
    const m = await resolveModel(join(stories, 'stories260K.bin'));
    expect(m.format).toBe('llama2c');
    expect(m.files.tokenizer).toBe(join(stories, 'tok512.bin'));
  });

  it('says an existing path that holds no model is not a model', async () => {
    await expect(resolveModel(join(models, 'openai-community/gpt2'))).rejects.toThrow(/is not a model/);
  });

  it('splits hub ids into owner, repo and subfolder', () => {
    expect(parseHubId('karpathy/tinyllamas/stories260K')).toEqual({
      owner: 'karpathy',
      repo: 'tinyllamas',
      subfolder: 'stories260K',
    });
    expect(parseHubId('EleutherAI/pythia-70m')).toEqual({
      owner: 'EleutherAI',
      repo: 'pythia-70m',
      subfolder: '',
    });
    expect(parseHubId('gpt2')).toBeUndefined();
    expect(parseHubId('a/../b')).toBeUndefined();
  });
});

describe('model resolution offline', () => {
  it('fails with a ModelNotFoundError listing every place it looked, without any request', async () => {
    const before = requests.length;
    const cacheDir = freshCache();
    const err = await resolveModel('EleutherAI/pythia-70m', { modelPath: [models, tmp], cacheDir }).catch(
      (e) => e,
    );
    expect(err).toBeInstanceOf(ModelNotFoundError);
    expect(err.message).toContain(resolve(models, 'EleutherAI/pythia-70m'));
    expect(err.message).toContain(resolve(tmp, 'EleutherAI/pythia-70m'));
    expect(err.message).toContain(join(cacheDir, 'EleutherAI/pythia-70m'));
    expect(err.message).toContain('offline');
    expect(requests.length).toBe(before);
  });

  it('is the default under vitest through REVERIE_OFFLINE=1', async () => {
    expect(process.env.REVERIE_OFFLINE).toBe('1');
    await expect(resolveModel('acme/tiny', { hubUrl, cacheDir: freshCache() })).rejects.toThrow(
      ModelNotFoundError,
    );
  });
});

describe('model download from the hub', () => {
  it('downloads config, weights and tokenizer into the cache, then finds them there', async () => {
    const cacheDir = freshCache();
    const m = await resolveModel('acme/tiny', online(cacheDir));
    const dir = join(cacheDir, 'acme/tiny');
    expect(m).toEqual({
      id: 'acme/tiny',
      dir,
      format: 'hf',
      files: {
        config: join(dir, 'config.json'),
        weights: join(dir, 'model.safetensors'),
        tokenizer: join(dir, 'tokenizer.json'),
      },
    });
    expect(new Uint8Array(readFileSync(m.files.weights))).toEqual(weights);
    expect(existsSync(join(dir, 'model.safetensors.part'))).toBe(false);
    // The optional tokenizer_config.json was a 404 and is simply absent.
    expect(existsSync(join(dir, 'tokenizer_config.json'))).toBe(false);
    const before = requests.length;
    expect(await resolveModel('acme/tiny', { offline: true, cacheDir, modelPath: [] })).toEqual(m);
    expect(requests.length).toBe(before);
  });

  it('resumes a partial download with a Range request', async () => {
    const cacheDir = freshCache();
    const dir = join(cacheDir, 'acme/tiny');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'model.safetensors.part'), weights.subarray(0, 1234));
    const m = await resolveModel('acme/tiny', online(cacheDir));
    const get = requests.filter((r) => r.url === '/acme/tiny/resolve/main/model.safetensors').at(-1);
    expect(get?.range).toBe('bytes=1234-');
    expect(new Uint8Array(readFileSync(m.files.weights))).toEqual(weights);
  });

  it('keeps the .part of a dropped connection and resumes it on the next run', async () => {
    const cacheDir = freshCache();
    const dir = join(cacheDir, 'acme/flaky');
    const progress = (_file: string, received: number) => void (received >= 2000 && dropConnection());
    await expect(resolveModel('acme/flaky', { ...online(cacheDir), progress })).rejects.toThrow(
      DownloadError,
    );
    expect(existsSync(join(dir, 'model.safetensors'))).toBe(false);
    expect(readFileSync(join(dir, 'model.safetensors.part')).length).toBe(2000);
    const m = await resolveModel('acme/flaky', online(cacheDir));
    const resumed = requests.filter((r) => r.url === '/acme/flaky/resolve/main/model.safetensors').at(-1);
    expect(resumed?.range).toBe('bytes=2000-');
    expect(new Uint8Array(readFileSync(m.files.weights))).toEqual(weights);
  });

  it('downloads every shard of a sharded checkpoint in a subfolder', async () => {
    const cacheDir = freshCache();
    const m = await resolveModel('acme/sharded/sub', online(cacheDir));
    const dir = join(cacheDir, 'acme/sharded/sub');
    expect(m.files.weights).toBe(join(dir, 'model.safetensors.index.json'));
    expect(new Uint8Array(readFileSync(join(dir, 'model-2.safetensors')))).toEqual(shard2);
    expect(m.files.tokenizer).toBeUndefined();
  });

  it('downloads a llama2.c checkpoint and its tokenizer, found through the tree listing', async () => {
    const cacheDir = freshCache();
    const m = await resolveModel(DEFAULT_MODEL, online(cacheDir));
    const dir = join(cacheDir, DEFAULT_MODEL);
    expect(m.format).toBe('llama2c');
    expect(m.files).toEqual({ weights: join(dir, 'stories260K.bin'), tokenizer: join(dir, 'tok512.bin') });
  });

  it('fails with a ModelNotFoundError naming the URL when required weights are a 404', async () => {
    const err = await resolveModel('acme/noweights', online(freshCache())).catch((e) => e);
    expect(err).toBeInstanceOf(ModelNotFoundError);
    expect(err.message).toContain(
      `${hubUrl}/acme/noweights/resolve/main/model.safetensors.index.json (HTTP 404)`,
    );
  });

  it('fails with a ModelNotFoundError when the repository does not exist', async () => {
    const err = await resolveModel('nobody/nothing', online(freshCache())).catch((e) => e);
    expect(err).toBeInstanceOf(ModelNotFoundError);
    expect(err.message).toContain(`${hubUrl}/nobody/nothing/resolve/main/config.json (HTTP 404)`);
  });

  it('fails with a DownloadError on a server error', async () => {
    await expect(resolveModel('broken/repo', online(freshCache()))).rejects.toThrow(DownloadError);
    await expect(resolveModel('broken/repo', online(freshCache()))).rejects.toThrow(/HTTP 500/);
  });
});
