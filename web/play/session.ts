/**
 * A dream on stories260K from the model's bytes: what /play runs in the browser, and what the end-to-end
 * test runs in Node to compare with it. Nothing here reads files or imports Node: the bytes are fetched (or
 * read) by the caller, and the runtime is passed in (onnxruntime-web's WebAssembly on both sides).
 */
import { dream, type DreamResult } from '../../src/dream/run.ts';
import type { EpoOptions } from '../../src/dream/options.ts';
import { llama2cModel } from '../../src/models/from-bytes.ts';
import type { Model } from '../../src/models/model.ts';
import type { Runtime } from '../../src/runtime/types.ts';

export const PLAY_MODEL = 'karpathy/tinyllamas/stories260K';

/** What a dream on /play is asked (the options are EPO's, as `reverie dream` takes them). */
export interface PlayRequest {
  target: string;
  options: Partial<EpoOptions>;
}

/** One iteration as the comparison reads it: every candidate's ids, target and xent, and the kept indices. */
export interface PlayIteration {
  iter: number;
  candidates: { ids: number[]; target: number; xent: number }[];
  keep: number[];
  seconds: number;
}

export interface PlayResult {
  history: PlayIteration[];
  frontier: DreamResult['frontier'];
  /** Wall time of the whole dream and the mean per iteration, in milliseconds (compile included / not). */
  totalMs: number;
  msPerIteration: number;
}

export const playModel = (weights: Uint8Array, tokenizer: Uint8Array): Model =>
  llama2cModel(weights, tokenizer, {
    id: PLAY_MODEL,
    weightsLabel: 'stories260K.bin',
    tokenizerLabel: 'tok512.bin',
  });

/** Runs one dream and keeps its history as plain data; `onIteration` sees each record as it comes. */
export async function playDream(
  model: Model,
  runtime: Runtime,
  request: PlayRequest,
  onIteration?: (iteration: PlayIteration, result: { frontierSize: number }) => void,
  shouldStop?: () => boolean,
): Promise<PlayResult> {
  const started = performance.now();
  const result = await dream({
    model,
    runtime,
    target: request.target,
    options: { threads: 1, ...request.options },
    onProgress: ({ record }) => onIteration?.(plain(record), { frontierSize: 0 }),
    ...(shouldStop && { shouldStop }),
  });
  const history = (result.history ?? []).map(plain);
  const iterSeconds = history.reduce((s, r) => s + r.seconds, 0);
  return {
    history,
    frontier: result.frontier,
    totalMs: performance.now() - started,
    msPerIteration: history.length === 0 ? 0 : (1000 * iterSeconds) / history.length,
  };
}

function plain(record: {
  iter: number;
  candidates: readonly { ids: readonly number[]; target: number; xent: number }[];
  keep: readonly number[];
  seconds: number;
}): PlayIteration {
  return {
    iter: record.iter,
    candidates: record.candidates.map((c) => ({ ids: [...c.ids], target: c.target, xent: c.xent })),
    keep: [...record.keep],
    seconds: record.seconds,
  };
}
