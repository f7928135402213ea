/**
 * A layer: a sweep (or a multi-feature scan), one row per feature — its top dataset example, the best dream
 * at most as perplexing as the median example and whether it wins, a sparkline of its activation histogram —
 * sortable by any column and filtered by text and outcome; and the layer's scatter of top example against
 * best dream. A running sweep's rows come in as its features finish.
 */
import type { LayerFeature, LayerView } from '../../src/server/types.ts';
import { refreshView } from '../api.ts';
import { duration, h, mainElement, num, section } from '../dom.ts';
import { layerScatter, sparkline } from '../plots.ts';
import { plainText } from '../tokens.ts';

const POLL_MS = 3000;

interface Column {
  title: string;
  /** The value it sorts by (null last). */
  key: (f: LayerFeature) => number | string | null;
  cell: (f: LayerFeature) => Node | string;
  numeric?: boolean;
}

const textCell = (text: string | undefined): Node | string => (text === undefined ? '' : plainText(text));

function columns(kind: LayerView['kind']): Column[] {
  const top: Column[] = [
    {
      title: 'feature',
      key: (f) => f.rank,
      cell: (f) => (f.url ? h('a', { href: f.url }, f.label) : f.label),
      numeric: true,
    },
    {
      title: 'top example',
      key: (f) => f.result?.topExample.activation ?? f.top?.activation ?? null,
      cell: (f) => num(f.result?.topExample.activation ?? f.top?.activation),
      numeric: true,
    },
    {
      title: 'its text',
      key: (f) => f.result?.topExample.text ?? f.top?.text ?? null,
      cell: (f) => textCell(f.result?.topExample.text ?? f.top?.text),
    },
  ];
  const stats: Column[] = [
    { title: 'mean', key: (f) => f.stats?.mean ?? null, cell: (f) => num(f.stats?.mean), numeric: true },
    {
      title: '% > 0',
      key: (f) => f.stats?.positive ?? null,
      cell: (f) => (f.stats ? `${(100 * f.stats.positive).toFixed(1)}` : '—'),
      numeric: true,
    },
    {
      title: 'histogram',
      key: (f) => f.stats?.max ?? null,
      cell: (f) => (f.stats ? sparkline(f.stats.histogram.counts) : ''),
    },
  ];
  if (kind === 'scan') return [...top, ...stats];
  return [
    ...top,
    {
      title: 'best dream',
      key: (f) => f.result?.bestDream?.activation ?? null,
      cell: (f) =>
        f.result
          ? num(f.result.bestDream?.activation)
          : f.status === 'failed'
            ? 'failed'
            : f.worker !== null
              ? `running on ${f.worker}`
              : (f.status ?? ''),
      numeric: true,
    },
    {
      title: 'xent',
      key: (f) => f.result?.bestDream?.xent ?? null,
      cell: (f) => num(f.result?.bestDream?.xent, 2),
      numeric: true,
    },
    {
      title: 'its text',
      key: (f) => f.result?.bestDream?.text ?? null,
      cell: (f) => (f.error ? h('span', { class: 'error' }, f.error) : textCell(f.result?.bestDream?.text)),
    },
    {
      title: 'margin',
      key: (f) => f.result?.margin ?? null,
      cell: (f) =>
        f.result?.margin === null || f.result?.margin === undefined
          ? '—'
          : `${f.result.margin >= 0 ? '+' : ''}${num(f.result.margin)}`,
      numeric: true,
    },
    {
      title: 'win',
      key: (f) => (f.result ? (f.result.win ? 1 : 0) : null),
      cell: (f) => (f.result ? (f.result.win ? h('span', { class: 'win' }, 'yes') : 'no') : ''),
    },
    ...stats,
  ];
}

type Outcome = 'all' | 'wins' | 'losses' | 'open';

function matches(f: LayerFeature, text: string, outcome: Outcome): boolean {
  if (outcome === 'wins' && !f.result?.win) return false;
  if (outcome === 'losses' && (!f.result || f.result.win)) return false;
  if (outcome === 'open' && f.result) return false;
  if (text === '') return true;
  const haystack = [f.label, f.target, f.top?.text, f.result?.topExample.text, f.result?.bestDream?.text]
    .join('\n')
    .toLowerCase();
  return haystack.includes(text.toLowerCase());
}

export function layerPage(initial: LayerView): void {
  let view = initial;
  const state = { sort: 0, descending: false, text: '', outcome: 'all' as Outcome };
  const cols = columns(view.kind);
  const table = h('table', { class: 'layer' });
  const summary = h('p', { class: 'summary' });
  const scatter = h('div', { class: 'scatter' });

  const draw = () => {
    const col = cols[state.sort] as Column;
    const rows = view.features
      .filter((f) => matches(f, state.text, state.outcome))
      .sort((a, b) => {
        const x = col.key(a);
        const y = col.key(b);
        if (x === null || y === null) return x === null ? (y === null ? 0 : 1) : -1;
        const order =
          typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y));
        return state.descending ? -order : order;
      });
    table.replaceChildren(
      h(
        'tr',
        {},
        ...cols.map((c, i) =>
          h(
            'th',
            {
              class: `sortable${i === state.sort ? (state.descending ? ' desc' : ' asc') : ''}`,
              onclick: () => {
                state.descending = state.sort === i ? !state.descending : c.numeric === true && i > 0;
                state.sort = i;
                draw();
              },
            },
            c.title,
          ),
        ),
      ),
      ...rows.map((f) =>
        h(
          'tr',
          { class: f.result?.win ? 'won' : '' },
          ...cols.map((c) => h('td', { class: c.numeric ? 'num' : '' }, c.cell(f))),
        ),
      ),
    );
    summary.textContent = `${rows.length} of ${view.features.length} features shown`;
  };

  const drawHeader = () => {
    const s = view.sweep;
    const scan = view.scan;
    const lines = [
      `model ${view.model}`,
      s ? `${s.status}, ${s.winsLine}, ${duration(s.seconds)}` : null,
      s?.queue
        ? `queue ${s.queue.url}: ${s.queue.queued} queued, ${s.queue.running.length} running, ` +
          `${s.queue.finished} finished, ${s.queue.failed} failed`
        : null,
      scan
        ? `scan ${scan.id}: ${scan.context} context${scan.window === null ? '' : `, windows of ${scan.window} tokens`}, ${scan.tokensScanned.toLocaleString('en-US')} tokens of ${scan.corpus.join(', ')}`
        : null,
    ].filter((l): l is string => l !== null);
    header.replaceChildren(...lines.map((l) => h('p', {}, l)));
    if (view.kind === 'sweep') scatter.replaceChildren(layerScatter(view.features));
  };

  const header = h('div', { class: 'header' });
  const filter = h('input', { type: 'search', placeholder: 'filter: feature or text', size: 28 });
  filter.addEventListener('input', () => {
    state.text = filter.value;
    draw();
  });
  const outcome = h(
    'select',
    {},
    ...(['all', 'wins', 'losses', 'open'] as const).map((o) =>
      h('option', { value: o }, o === 'open' ? 'not finished' : o),
    ),
  );
  outcome.addEventListener('change', () => {
    state.outcome = outcome.value as Outcome;
    draw();
  });
  const main = mainElement();
  main.append(
    header,
    view.kind === 'sweep'
      ? section(
          'Top example against best dream',
          h(
            'p',
            { class: 'note' },
            'Each feature: its top dataset example (x) against its best dream at most as perplexing as the median top example (y); above the diagonal the dream wins. Click a point for its feature.',
          ),
          scatter,
        )
      : '',
    section(
      'Features',
      h('div', { class: 'controls' }, filter, view.kind === 'sweep' ? outcome : null, summary),
      table,
    ),
  );
  drawHeader();
  draw();

  if (view.sweep?.status === 'running') {
    const poll = () =>
      refreshView<LayerView>().then(
        (next) => {
          view = next;
          drawHeader();
          draw();
          if (next.sweep?.status === 'running') setTimeout(poll, POLL_MS);
        },
        () => setTimeout(poll, POLL_MS * 3),
      );
    setTimeout(poll, POLL_MS);
  }
}
