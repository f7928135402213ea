/**
 * /play: EPO in the browser. The page fetches stories260K and its tokenizer, and dreams with onnxruntime-web
 * (WebAssembly) — the same dream() as `reverie dream`, no server computation. Pick a layer and a neuron (or
 * type any target spec), press Dream, watch the frontier grow. `window.reverieDream(request)` runs a dream
 * and returns its history (the end-to-end test compares it with Node's).
 */
import * as ort from 'onnxruntime-web';
import { nondominatedFrontier } from '../../src/dream/frontier.ts';
import type { Model } from '../../src/models/model.ts';
import type { FigurePoint } from '../../src/report/figure.ts';
import { webRuntime } from '../../src/runtime/web.ts';
import { h, mainElement, num, section } from '../dom.ts';
import { paperFigure } from '../plots.ts';
import { playDream, playModel, type PlayRequest, type PlayResult } from '../play/session.ts';
import { plainText } from '../tokens.ts';

/** Where the page finds its files (the server's /play, or the static folder of `npm run build:web`). */
export interface PlayView {
  weights: string;
  tokenizer: string;
  /** The folder of onnxruntime-web's .wasm file. */
  wasm: string;
}

const DRAW_MS = 250;
const COLORS = { dataset: '#4269d0', dream: '#ff725c', frontier: '#222', runs: [] as [string, string][] };

declare global {
  interface Window {
    reverieDream?: (request: PlayRequest) => Promise<PlayResult>;
    reverieReady?: Promise<{ threads: number; crossOriginIsolated: boolean; simd: boolean }>;
  }
}

async function fetchBytes(url: string): Promise<Uint8Array> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: ${response.status} ${response.statusText}`);
  return new Uint8Array(await response.arrayBuffer());
}

/** Threads for onnxruntime-web: several only where the page is cross-origin isolated (SharedArrayBuffer). */
const maxThreads = (): number =>
  globalThis.crossOriginIsolated ? Math.max(1, navigator.hardwareConcurrency || 1) : 1;

export function playPage(view: PlayView): void {
  const main = mainElement();
  const status = h('p', { class: 'message' }, 'loading stories260K…');
  main.append(status);
  // The WebAssembly file only: its JavaScript glue is part of play.js (onnxruntime-web's bundled build).
  ort.env.wasm.wasmPaths = { wasm: new URL(`${view.wasm}ort-wasm-simd-threaded.wasm`, location.href).href };
  ort.env.wasm.numThreads = 1;
  const loaded = Promise.all([fetchBytes(view.weights), fetchBytes(view.tokenizer)]).then(([w, t]) =>
    playModel(w, t),
  );
  let busy = false;
  const run = async (request: PlayRequest, draw?: Drawing): Promise<PlayResult> => {
    if (busy) throw new Error('a dream is running');
    busy = true;
    try {
      const model = await loaded;
      // onnxruntime-web's thread count is global and fixed once its WebAssembly starts: the first dream's.
      ort.env.wasm.numThreads = request.options.threads ?? 1;
      return await playDream(model, webRuntime, request, draw?.iteration, draw?.stop);
    } finally {
      busy = false;
    }
  };
  window.reverieDream = (request) => run(request);
  window.reverieReady = loaded.then(() => ({
    threads: maxThreads(),
    crossOriginIsolated: globalThis.crossOriginIsolated,
    simd: true,
  }));
  loaded.then(
    (model) => {
      status.replaceChildren(
        `stories260K: ${model.config.layers} layers, ${model.config.intermediate} neurons each, vocabulary ${model.config.vocabSize}. `,
        `Dreams run here, in WebAssembly (${globalThis.crossOriginIsolated ? `up to ${maxThreads()} threads` : 'one thread: the page is not cross-origin isolated'}).`,
      );
      main.append(form(model, run));
    },
    (error: unknown) => status.replaceChildren(h('span', { class: 'error' }, String(error))),
  );
}

interface Drawing {
  iteration: (it: PlayResult['history'][number]) => void;
  stop: () => boolean;
}

function form(model: Model, run: (request: PlayRequest, draw: Drawing) => Promise<PlayResult>): HTMLElement {
  const { layers, intermediate } = model.config;
  const layer = h(
    'select',
    { name: 'layer' },
    ...Array.from({ length: layers }, (_, i) => h('option', { value: i }, `block ${i}`)),
  );
  const neuron = h('input', { name: 'neuron', type: 'number', min: 0, max: intermediate - 1, value: 17 });
  const spec = h('input', { name: 'target', size: 40, value: 'blocks.0.mlp.hook_post[17]' });
  const fill = () => {
    spec.value = `blocks.${layer.value}.mlp.hook_post[${neuron.value}]`;
  };
  layer.addEventListener('change', fill);
  neuron.addEventListener('input', fill);
  const preset = h(
    'select',
    { name: 'preset' },
    h('option', { value: 'reverie' }, 'reverie'),
    h('option', { value: 'dreamy' }, 'dreamy'),
  );
  const numberInput = (name: string, value: number, max: number) =>
    h('input', { name, type: 'number', min: 1, max, value });
  const iters = numberInput('iters', 100, 10000);
  const seed = numberInput('seed', 0, 2 ** 31);
  seed.min = '0';
  const threads = numberInput('threads', 1, maxThreads());
  const dreamButton = h('button', { type: 'submit' }, 'Dream');
  const stopButton = h('button', { type: 'button', disabled: true }, 'Stop');
  const progress = h('p', { class: 'progress' });
  const figure = h('div', { class: 'figure' });
  const table = h('table', {});
  let stopping = false;
  stopButton.addEventListener('click', () => {
    stopping = true;
  });
  const label = (text: string, input: HTMLElement) => h('label', {}, `${text} `, input);
  const element = h(
    'form',
    { class: 'play' },
    h('p', {}, label('layer', layer), ' ', label('neuron', neuron), ' ', label('or any target', spec)),
    h(
      'p',
      {},
      label('preset', preset),
      ' ',
      label('iterations', iters),
      ' ',
      label('seed', seed),
      ' ',
      label('threads', threads),
      ' ',
      dreamButton,
      ' ',
      stopButton,
    ),
  );
  const pool: { ids: number[]; target: number; xent: number }[] = [];
  const text = (ids: readonly number[]) => model.tokenizer?.decode([...ids]) ?? ids.join(' ');
  let lastDraw = 0;
  const draw = () => {
    lastDraw = performance.now();
    const frontier = nondominatedFrontier(pool).sort((a, b) => b.target - a.target);
    pool.splice(0, pool.length, ...frontier);
    const points: FigurePoint[] = frontier.map((p) => ({
      kind: 'dream',
      xent: p.xent,
      activation: p.target,
      text: text(p.ids),
      source: 'this dream',
    }));
    figure.replaceChildren(paperFigure(points, { colors: COLORS, bar: null }));
    table.replaceChildren(
      h('tr', {}, h('th', {}, 'activation'), h('th', {}, 'xent'), h('th', {}, 'prompt')),
      ...frontier.map((p) =>
        h(
          'tr',
          {},
          h('td', { class: 'num' }, num(p.target)),
          h('td', { class: 'num' }, num(p.xent)),
          h('td', {}, plainText(text(p.ids))),
        ),
      ),
    );
  };
  element.addEventListener('submit', (event) => {
    event.preventDefault();
    pool.length = 0;
    stopping = false;
    dreamButton.disabled = true;
    stopButton.disabled = false;
    const total = Number(iters.value);
    let done = 0;
    let seconds = 0;
    progress.replaceChildren('compiling…');
    run(
      {
        target: spec.value,
        options: {
          preset: preset.value as 'reverie' | 'dreamy',
          iters: total,
          seed: Number(seed.value),
          threads: Number(threads.value),
        },
      },
      {
        iteration: (it) => {
          done += 1;
          seconds += it.seconds;
          pool.push(...it.candidates);
          progress.replaceChildren(
            `iteration ${done} of ${total} · ${((1000 * seconds) / done).toFixed(1)} ms an iteration · best ${num(Math.max(...pool.map((c) => c.target)))}`,
          );
          if (performance.now() - lastDraw > DRAW_MS) draw();
        },
        stop: () => stopping,
      },
    )
      .then(
        (result) => {
          draw();
          progress.append(
            ` · done: ${result.history.length} iterations in ${(result.totalMs / 1000).toFixed(1)} s`,
          );
        },
        (error: unknown) => progress.replaceChildren(h('span', { class: 'error' }, String(error))),
      )
      .finally(() => {
        dreamButton.disabled = false;
        stopButton.disabled = true;
      });
  });
  return h(
    'div',
    {},
    element,
    progress,
    section('Frontier: activation against cross-entropy', figure),
    section('Best prompts', table),
  );
}
