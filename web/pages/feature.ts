/**
 * A feature, Neuronpedia-style: the paper's figure (dataset examples and dreams; hover a point for its text,
 * click to pin it), its dreams with each token shaded by attribution, its dataset examples shaded by
 * activation, its histogram and its runs' progress. "Dream this feature" starts a dream on the server; the
 * figure and the progress follow its iterations as they are committed, and Cancel stops it (kept).
 */
import type { FigurePoint } from '../../src/report/figure.ts';
import type {
  DreamView,
  ExampleView,
  FeatureView,
  FrontierPointView,
  RunEvent,
  RunProgress,
} from '../../src/server/types.ts';
import { cancelRun, followRun, startDream } from '../api.ts';
import { h, mainElement, num, section } from '../dom.ts';
import { figureLegend, frontierChart, histogram, paperFigure, type FigureColors } from '../plots.ts';
import { activationTokens, attributedTokens, plainText } from '../tokens.ts';

/** Redraws at most this often while runs stream. */
const DRAW_MS = 300;

const dreamPoint =
  (label: string) =>
  (p: FrontierPointView): FigurePoint => ({
    kind: 'dream',
    xent: p.xent,
    activation: p.target,
    text: p.text,
    source: label,
  });

/** The best of `points` at most as perplexing as the bar (the paper's comparison), or undefined. */
function bestFluent(points: readonly FigurePoint[], bar: number | null): FigurePoint | undefined {
  let best: FigurePoint | undefined;
  for (const p of points)
    if (p.kind === 'dream' && (bar === null || p.xent <= bar) && (!best || p.activation > best.activation))
      best = p;
  return best;
}

function summaryLines(view: FeatureView, points: readonly FigurePoint[]): string[] {
  const dataset = points.filter((p) => p.kind === 'dataset');
  const top = dataset.reduce<FigurePoint | undefined>(
    (a, b) => (!a || b.activation > a.activation ? b : a),
    undefined,
  );
  const best = bestFluent(points, view.bar);
  const lines: string[] = [];
  if (top)
    lines.push(
      `top dataset activation ${num(top.activation)} (xent ${num(top.xent)}), median dataset xent ${num(view.bar)}`,
    );
  if (best && view.bar !== null)
    lines.push(
      `best dream at xent ≤ ${num(view.bar)}: ${num(best.activation)} (xent ${num(best.xent)})${top ? ` — ${(best.activation / top.activation).toFixed(2)}× the top example, ${best.activation > top.activation ? 'a win' : 'no win'}` : ''}`,
    );
  else if (view.bar !== null)
    lines.push(`no dream is as fluent as the median dataset example (xent ≤ ${num(view.bar)})`);
  for (const w of view.comparison?.warnings ?? []) lines.push(`warning: ${w}`);
  return lines;
}

function dreamItem(d: DreamView): HTMLElement {
  return h(
    'li',
    {},
    h('span', { class: 'numbers' }, `${num(d.target)} · xent ${num(d.xent)} · ${d.run}`),
    d.attribution ? attributedTokens(d.attribution) : plainText(d.text),
  );
}

function exampleItem(e: ExampleView, scale: number): HTMLElement {
  return h(
    'li',
    {},
    h('span', { class: 'numbers' }, `${num(e.activation)}${e.xent === null ? '' : ` · xent ${num(e.xent)}`}`),
    activationTokens(e.tokens, scale, e.at),
    e.source ? h('span', { class: 'source' }, e.source) : null,
  );
}

export function featurePage(view: FeatureView): void {
  const colors: FigureColors = { ...view.colors, runs: [...view.colors.runs] };
  const colorOf = new Map(colors.runs);
  const dataset = view.points.filter((p) => p.kind === 'dataset');
  /** Each run's dream points, by label: the server's at first, then each streamed frontier. */
  const dreams = new Map<string, FigurePoint[]>();
  for (const p of view.points)
    if (p.kind === 'dream') dreams.set(p.source ?? '', [...(dreams.get(p.source ?? '') ?? []), p]);
  const progress = new Map<number, RunProgress>(view.progress.map((p) => [p.runId, p]));
  const topActivation = dataset.reduce((m, p) => Math.max(m, p.activation), -Infinity);

  const main = mainElement();
  const summary = h('div', { class: 'summary' });
  const figure = h('div', { class: 'figure-box' });
  const legend = h('div');
  const pinned = h('div', { class: 'pinned' }, h('p', { class: 'note' }, 'Click a point to pin it here.'));
  const chart = h('div');
  const liveStatus = h('span', { class: 'message' });

  const allPoints = (): FigurePoint[] => [...dataset, ...[...dreams.values()].flat()];
  let pending = false;
  const draw = () => {
    pending = false;
    const points = allPoints();
    summary.replaceChildren(...summaryLines(view, points).map((l) => h('p', {}, l)));
    const best = bestFluent(points, view.bar);
    figure.replaceChildren(
      paperFigure(points, {
        colors,
        bar: view.bar,
        highlight: view.bar === null ? undefined : best,
        onPin: (p) => pin(p),
      }),
    );
    legend.replaceChildren(figureLegend(colors, dataset.length));
    chart.replaceChildren(
      progress.size === 0
        ? h('p', { class: 'note' }, 'No run of this feature yet.')
        : frontierChart([...progress.values()], {
            colors: colorOf,
            top: Number.isFinite(topActivation) ? topActivation : null,
          }),
    );
  };
  const schedule = () => {
    if (pending) return;
    pending = true;
    setTimeout(draw, DRAW_MS);
  };
  const pin = (p: FigurePoint | null) => {
    if (!p) return pinned.replaceChildren(h('p', { class: 'note' }, 'Click a point to pin it here.'));
    const attributed = view.dreams.find((d) => d.text === p.text && d.attribution)?.attribution;
    pinned.replaceChildren(
      h(
        'p',
        { class: 'numbers' },
        `${p.kind === 'dream' ? `dream of ${p.source ?? ''}` : 'dataset example'}: activation ${num(p.activation)}, xent ${num(p.xent)}`,
      ),
      attributed ? attributedTokens(attributed) : plainText(p.text),
      p.kind === 'dataset' && p.source ? h('p', { class: 'source' }, p.source) : '',
    );
  };

  /** Follows a run's events: its frontier replaces its points, each iteration extends its progress. */
  const follow = (runId: number, onEnd?: (event: Extract<RunEvent, { type: 'end' }>) => void) => {
    let label = `run ${runId}`;
    followRun(runId, view.bar, (event) => {
      if (event.type === 'state') {
        label = event.run.label;
        if (!colorOf.has(label)) {
          const color =
            view.colors.palette[colors.runs.length % view.colors.palette.length] ?? view.colors.dream;
          colors.runs.push([label, color]);
          colorOf.set(label, color);
        }
        progress.set(runId, event.progress);
        dreams.set(label, event.progress.frontier.map(dreamPoint(label)));
      } else if (event.type === 'iteration') {
        const p = progress.get(runId);
        const points = event.frontier.map(dreamPoint(label));
        const fluent = view.bar === null ? null : (bestFluent(points, view.bar)?.activation ?? null);
        p?.series.push({ iter: event.iter, best: event.best, fluent });
        dreams.set(label, points);
        if (onEnd) liveStatus.textContent = `${label}: iteration ${event.iter + 1}, best ${num(event.best)}`;
      } else onEnd?.(event);
      schedule();
    });
  };

  // Dream this feature: a dream of the server, with the scan's window so that it compares like for like.
  const iters = h('input', { type: 'number', min: 1, value: 300, size: 6, 'aria-label': 'iterations' });
  const seed = h('input', {
    type: 'number',
    min: 0,
    value: Math.floor(Math.random() * 1000),
    size: 6,
    'aria-label': 'seed',
  });
  const dreamButton = h('button', { type: 'button', class: 'primary' }, 'Dream this feature');
  const cancelButton = h('button', { type: 'button', disabled: true }, 'Cancel');
  let live: number | undefined;
  dreamButton.addEventListener('click', () => {
    dreamButton.disabled = true;
    liveStatus.textContent = 'starting (compiling the model)…';
    startDream({
      model: view.dream.model,
      target: view.dream.target,
      iters: Number(iters.value),
      seed: Number(seed.value),
      ...(view.dream.seqLen !== null && { seqLen: view.dream.seqLen }),
    }).then(
      (started) => {
        live = started.runId;
        cancelButton.disabled = false;
        follow(started.runId, (end) => {
          liveStatus.replaceChildren(
            `${end.run.label} ${end.run.status} after ${end.run.iterations} iterations, kept: `,
            h('a', { href: end.run.url }, 'its page'),
          );
          dreamButton.disabled = false;
          cancelButton.disabled = true;
          live = undefined;
        });
      },
      (error: Error) => {
        liveStatus.textContent = error.message;
        dreamButton.disabled = false;
      },
    );
  });
  cancelButton.addEventListener('click', () => {
    if (live === undefined) return;
    cancelButton.disabled = true;
    liveStatus.textContent = 'stopping after this iteration…';
    cancelRun(live).catch((error: Error) => (liveStatus.textContent = error.message));
  });

  const scale = Math.max(
    ...view.examples.map((e) => e.activation),
    ...view.documentExamples.map((e) => e.activation),
    1e-9,
  );
  const stats = view.stats;
  main.append(
    h(
      'nav',
      { class: 'sources' },
      `model ${view.model} · `,
      ...view.sweeps.flatMap((s) => [
        h('a', { href: `${view.url}?sweep=${s.id}`, class: s.id === view.sweepId ? 'current' : '' }, s.label),
        ' ',
      ]),
      ...view.scans.flatMap((s) => [
        h(
          'a',
          { href: `${view.url}?scan=${s.id}`, class: s.id === view.scanId ? 'current' : '' },
          `scan ${s.id} (${s.context})`,
        ),
        ' ',
      ]),
      view.sweepId === null ? null : h('a', { href: `/sweeps/${view.sweepId}` }, '↑ the layer'),
    ),
    summary,
    section(
      'Activation against cross-entropy',
      h(
        'div',
        { class: 'live' },
        dreamButton,
        ' iterations ',
        iters,
        ' seed ',
        seed,
        ' ',
        cancelButton,
        ' ',
        liveStatus,
      ),
      h('div', { class: 'figure-row' }, h('div', {}, figure, legend), pinned),
    ),
    section('Frontier over iterations', chart),
    section(
      'Top dreams',
      h(
        'p',
        { class: 'note' },
        'Tokens shaded by attribution where one is stored (hover a token for its worst and top-3 swaps).',
      ),
      h('ol', { class: 'prompts' }, ...view.dreams.map(dreamItem)),
    ),
    view.examples.length > 0
      ? section(
          'Top dataset examples',
          h(
            'p',
            { class: 'note' },
            'Windows as a dream reads them: the activation is read at the outlined token.',
          ),
          h('ol', { class: 'prompts' }, ...view.examples.map((e) => exampleItem(e, scale))),
        )
      : '',
    view.documentExamples.length > 0
      ? section(
          'Top dataset examples in their documents',
          h('p', { class: 'note' }, 'Each token shaded by the activation there; the max token outlined.'),
          h('ol', { class: 'prompts' }, ...view.documentExamples.map((e) => exampleItem(e, scale))),
        )
      : '',
    stats
      ? section(
          'Activation histogram',
          histogram(stats),
          h(
            'p',
            { class: 'numbers' },
            `${stats.count.toLocaleString('en-US')} values · max ${num(stats.max)} · mean ${num(stats.mean)} · ${(100 * stats.positive).toFixed(1)}% > 0 · ${stats.quantiles.map((q) => `p${+(q.q * 100).toFixed(1)} ${num(q.value)}`).join(' · ')}`,
          ),
        )
      : '',
    section(
      'Runs',
      h(
        'table',
        {},
        h('tr', {}, ...['run', 'status', 'iterations', 'best', 'seconds'].map((t) => h('th', {}, t))),
        ...view.runs.map((r) =>
          h(
            'tr',
            {},
            h('td', {}, h('a', { href: r.url }, r.label)),
            h('td', {}, r.status),
            h('td', { class: 'num' }, `${r.iterations}${r.iters === null ? '' : `/${r.iters}`}`),
            h('td', { class: 'num' }, num(r.bestTarget)),
            h('td', { class: 'num' }, r.seconds.toFixed(1)),
          ),
        ),
      ),
    ),
  );
  draw();
  // Runs written now (a sweep's worker, reverie dream, this server) are followed as they go.
  for (const run of view.runs.slice(0, view.progress.length)) if (run.live) follow(run.id);
}
