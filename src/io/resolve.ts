import { fileURLToPath } from 'node:url';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileBytes } from './bytes.ts';
import { type DownloadOptions, downloadFile } from './download.ts';
import { ModelNotFoundError } from './errors.ts';
import { isLlama2cTokenizerFile, parseLlama2cHeader } from './llama2c.ts';

export const DEFAULT_MODEL = 'karpathy/tinyllamas/stories260K';
export const DEFAULT_HUB_URL = 'https://huggingface.co';

export type ModelFormat = 'hf' | 'llama2c';

export interface ModelFiles {
  /** `config.json` (hf only). */
  config?: string;
  /** `model.safetensors`, `model.safetensors.index.json`, or the llama2.c `.bin` checkpoint. */
  weights: string;
  /** `tokenizer.json`, or a llama2.c `tokenizer.bin` / `tok*.bin`. */
  tokenizer?: string;
}

export interface ResolvedModel {
  id: string;
  dir: string;
  format: ModelFormat;
  files: ModelFiles;
}

export interface ResolveOptions extends Pick<DownloadOptions, 'fetch' | 'progress'> {
  /** Never download; default: `REVERIE_OFFLINE=1`. */
  offline?: boolean;
  /** Roots laid out `<owner>/<repo>/<subfolder>`; default: {@link defaultModelPath}. */
  modelPath?: string[];
  /** Default: `REVERIE_CACHE`, else `~/.cache/reverie`. */
  cacheDir?: string;
  /** Default: `REVERIE_HUB_URL`, else https://huggingface.co. */
  hubUrl?: string;
  revision?: string;
}

/** `owner/repo[/subfolder...]`, or undefined when `id` is not shaped like a hub id. */
export function parseHubId(id: string): { owner: string; repo: string; subfolder: string } | undefined {
  const parts = id.split('/');
  if (parts.length < 2 || !parts.every((p) => /^[\w.-]+$/.test(p) && p !== '.' && p !== '..'))
    return undefined;
  const [owner, repo, ...rest] = parts as [string, string, ...string[]];
  return { owner, repo, subfolder: rest.join('/') };
}

/**
 * An existing path is used as is; a hub id is looked up in the model path, then in the cache, then
 * downloaded into the cache (unless offline).
 */
export async function resolveModel(idOrPath: string, opts: ResolveOptions = {}): Promise<ResolvedModel> {
  if (existsSync(idOrPath)) {
    const found = inspectModel(idOrPath, idOrPath);
    if (found) return found;
    throw new ModelNotFoundError(idOrPath, [resolve(idOrPath)], `is not a model (${EXPECTED})`);
  }
  const hub = parseHubId(idOrPath);
  if (!hub)
    throw new ModelNotFoundError(idOrPath, [resolve(idOrPath)], 'is neither a path nor a hub id owner/repo');
  const rel = join(hub.owner, hub.repo, hub.subfolder);
  const looked: string[] = [];
  const roots = opts.modelPath ?? defaultModelPath();
  for (const root of roots) {
    const dir = resolve(root, rel);
    const found = existsSync(dir) ? inspectModel(dir, idOrPath) : undefined;
    if (found) return found;
    looked.push(dir);
  }
  const cache = resolve(
    opts.cacheDir ?? process.env.REVERIE_CACHE ?? join(homedir(), '.cache', 'reverie'),
    rel,
  );
  const cached = existsSync(cache) ? inspectModel(cache, idOrPath) : undefined;
  if (cached) return cached;
  looked.push(cache);
  const offline = opts.offline ?? process.env.REVERIE_OFFLINE === '1';
  if (offline) {
    throw new ModelNotFoundError(idOrPath, [...looked, 'the hub (not asked: offline)'], 'not found offline');
  }
  const hubUrl = (opts.hubUrl ?? process.env.REVERIE_HUB_URL ?? DEFAULT_HUB_URL).replace(/\/$/, '');
  await download(hub, cache, hubUrl, opts, idOrPath, looked);
  const found = inspectModel(cache, idOrPath);
  if (!found) throw new ModelNotFoundError(idOrPath, looked, `is incomplete after download (${EXPECTED})`);
  return found;
}

/**
 * `REVERIE_MODEL_PATH` split on ':'; when unset, the `shared/models` folder beside this checkout, where the
 * project keeps its embedded default model (stories260K) and tokenizers.
 */
export function defaultModelPath(): string[] {
  const fromEnv = process.env.REVERIE_MODEL_PATH;
  if (fromEnv !== undefined) return fromEnv.split(':').filter(Boolean);
  const beside = fileURLToPath(new URL('../../../shared/models', import.meta.url));
  return existsSync(beside) ? [beside] : [];
}

const EXPECTED = 'expected config.json with model.safetensors or its index, or one llama2.c .bin checkpoint';

/** A complete model at `path` (a directory or one of its files), or undefined. */
export function inspectModel(path: string, id: string): ResolvedModel | undefined {
  const abs = resolve(path);
  if (!statSync(abs).isDirectory()) {
    const name = basename(abs);
    if (name.endsWith('.bin') && !isLlama2cTokenizerFile(name)) return llama2cModel(id, abs);
    if (name === 'config.json' || name.endsWith('.safetensors') || name.endsWith('.index.json')) {
      return inspectModel(dirname(abs), id);
    }
    return undefined;
  }
  const config = join(abs, 'config.json');
  if (existsSync(config)) {
    const weights = safetensorsIn(abs);
    if (!weights) return undefined;
    const tokenizer = join(abs, 'tokenizer.json');
    return {
      id,
      dir: abs,
      format: 'hf',
      files: { config, weights, ...(existsSync(tokenizer) && { tokenizer }) },
    };
  }
  const bins = readdirSync(abs).filter((f) => f.endsWith('.bin') && !isLlama2cTokenizerFile(f));
  return bins.length === 1 ? llama2cModel(id, join(abs, bins[0]!)) : undefined;
}

function safetensorsIn(dir: string): string | undefined {
  const index = join(dir, 'model.safetensors.index.json');
  if (existsSync(index)) return shardsOf(index).every((f) => existsSync(join(dir, f))) ? index : undefined;
  const single = join(dir, 'model.safetensors');
  if (existsSync(single)) return single;
  const any = readdirSync(dir).filter((f) => f.endsWith('.safetensors'));
  return any.length === 1 ? join(dir, any[0]!) : undefined;
}

function shardsOf(indexPath: string): string[] {
  try {
    const map = (JSON.parse(readFileSync(indexPath, 'utf8')) as { weight_map?: Record<string, string> })
      .weight_map;
    return [...new Set(Object.values(map ?? {}))];
  } catch {
    return [];
  }
}

/** The checkpoint and its tokenizer: `tok<vocab>.bin`, else `tokenizer.bin`, else the only `tok*.bin`. */
function llama2cModel(id: string, bin: string): ResolvedModel {
  const dir = dirname(bin);
  const toks = readdirSync(dir).filter(isLlama2cTokenizerFile).sort();
  let vocab: number | undefined;
  try {
    vocab = parseLlama2cHeader(fileBytes(bin)).vocabSize;
  } catch {
    vocab = undefined; // the loader reports a corrupt checkpoint with the full story
  }
  const tok =
    [`tok${vocab}.bin`, 'tokenizer.bin'].find((t) => toks.includes(t)) ??
    (toks.length === 1 ? toks[0] : undefined);
  return { id, dir, format: 'llama2c', files: { weights: bin, ...(tok && { tokenizer: join(dir, tok) }) } };
}

type HubRef = { owner: string; repo: string; subfolder: string };

async function download(
  hub: HubRef,
  dir: string,
  hubUrl: string,
  opts: ResolveOptions,
  id: string,
  looked: string[],
): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const revision = opts.revision ?? 'main';
  const prefix = hub.subfolder ? `${hub.subfolder}/` : '';
  const token = process.env.HF_TOKEN;
  const dl: DownloadOptions = {
    ...(opts.fetch && { fetch: opts.fetch }),
    ...(opts.progress !== undefined && { progress: opts.progress }),
    ...(token && { headers: { authorization: `Bearer ${token}` } }),
  };
  const url = (file: string) => `${hubUrl}/${hub.owner}/${hub.repo}/resolve/${revision}/${prefix}${file}`;
  /** Fetches `file` unless already there; false when the hub does not have it. */
  const fetchFile = async (file: string): Promise<boolean> => {
    if (existsSync(join(dir, file))) return true;
    const result = await downloadFile(url(file), join(dir, file), dl);
    if (!result.ok) looked.push(`${url(file)} (HTTP ${result.status})`);
    return result.ok;
  };
  const missing = (what: string) => new ModelNotFoundError(id, looked, `not found (${what})`);

  if (!(await fetchFile('config.json'))) {
    const bins = await listLlama2c(hub, hubUrl, revision, dl, looked);
    if (!bins) throw missing('no config.json and no llama2.c checkpoint on the hub');
    for (const file of bins) if (!(await fetchFile(file))) throw missing(file);
    return;
  }
  // Weights come last: their presence in the cache marks the download complete.
  await fetchFile('tokenizer.json');
  await fetchFile('tokenizer_config.json');
  if (!(await fetchFile('model.safetensors'))) {
    if (!(await fetchFile('model.safetensors.index.json'))) throw missing('no model.safetensors or index');
    for (const shard of shardsOf(join(dir, 'model.safetensors.index.json'))) {
      if (!(await fetchFile(shard))) throw missing(`shard ${shard}`);
    }
  }
}

/** llama2.c repos have no config.json: list the folder (hub tree API) for one checkpoint and its tokenizer. */
async function listLlama2c(
  hub: HubRef,
  hubUrl: string,
  revision: string,
  dl: DownloadOptions,
  looked: string[],
): Promise<string[] | undefined> {
  const api = `${hubUrl}/api/models/${hub.owner}/${hub.repo}/tree/${revision}${hub.subfolder ? `/${hub.subfolder}` : ''}`;
  const res = await (dl.fetch ?? fetch)(api, { headers: dl.headers ?? {} }).catch(() => undefined);
  if (!res?.ok) {
    looked.push(`${api} (${res ? `HTTP ${res.status}` : 'unreachable'})`);
    return undefined;
  }
  const entries = (await res.json().catch(() => [])) as { type?: string; path?: string }[];
  const names = entries.filter((e) => e.type === 'file' && e.path).map((e) => basename(e.path!));
  const checkpoints = names.filter((f) => f.endsWith('.bin') && !isLlama2cTokenizerFile(f));
  if (checkpoints.length !== 1) {
    looked.push(`${api} (${checkpoints.length} llama2.c checkpoints)`);
    return undefined;
  }
  // The checkpoint comes last: its presence in the cache marks the download complete.
  return [...names.filter(isLlama2cTokenizerFile), ...checkpoints];
}
