/** Home: the store's models, sweeps with their live progress, a form to dream a target, recent dreams and scans. */
import type { HomeView, RunInfo, SweepInfo } from '../../src/server/types.ts';
import { refreshView, startDream } from '../api.ts';
import { duration, h, mainElement, num, section } from '../dom.ts';

/** How often the page reads the store again while a sweep or dream runs. */
const POLL_MS = 3000;

const link = (url: string | null, text: string): HTMLElement | string =>
  url ? h('a', { href: url }, text) : text;

const status = (s: string, live = s === 'running'): HTMLElement =>
  h('span', { class: `status ${s}${live ? ' live' : ''}` }, s);

function progressBar(done: number, total: number): HTMLElement {
  const bar = h('progress', { max: Math.max(total, 1), value: done });
  return h('span', { class: 'progress' }, bar, ` ${done}/${total}`);
}

function sweepRow(s: SweepInfo): HTMLElement {
  return h(
    'tr',
    {},
    h('td', {}, link(s.url, s.label)),
    h('td', {}, h('code', {}, s.target)),
    h('td', {}, s.model),
    h('td', {}, status(s.status)),
    h('td', {}, progressBar(s.finished, s.features)),
    h('td', {}, s.winsLine),
    h('td', {}, duration(s.seconds)),
    h(
      'td',
      { class: 'running' },
      ...s.running.map((r) =>
        h(
          'a',
          { href: `/runs/${r.runId}`, class: 'chip' },
          `${r.target.replace(/^.*\[/, '[')} ${r.iterations}/${r.iters ?? '?'}`,
        ),
      ),
      ...(s.queue ? queueCell(s.queue) : []),
    ),
  );
}

/** A queued sweep's jobs: how many wait, run, ended, and which worker holds each running one. */
function queueCell(q: NonNullable<SweepInfo['queue']>): HTMLElement[] {
  return [
    h(
      'span',
      { class: 'queue' },
      `queue ${q.url}: ${q.queued} queued, ${q.running.length} running, ${q.finished} finished, ${q.failed} failed`,
    ),
    ...q.running.map((r) => h('span', { class: 'chip' }, `${r.target.replace(/^.*\[/, '[')} on ${r.worker}`)),
  ];
}

function runRow(r: RunInfo): HTMLElement {
  return h(
    'tr',
    {},
    h('td', {}, link(r.url, r.label)),
    h('td', {}, link(r.featureUrl, r.target)),
    h('td', {}, r.model),
    h('td', {}, status(r.status, r.live)),
    h('td', { class: 'num' }, `${r.iterations}${r.iters === null ? '' : `/${r.iters}`}`),
    h('td', { class: 'num' }, num(r.bestTarget)),
    h('td', {}, r.sweepId === null ? '' : link(`/sweeps/${r.sweepId}`, `sweep ${r.sweepId}`)),
  );
}

function dreamForm(view: HomeView): HTMLElement {
  const models = [...new Set([view.defaultModel, ...view.models.map((m) => m.name)])];
  const message = h('span', { class: 'message' });
  const form = h(
    'form',
    { class: 'dream' },
    h(
      'label',
      {},
      'model ',
      h('select', { name: 'model' }, ...models.map((m) => h('option', { value: m }, m))),
    ),
    h(
      'label',
      {},
      'target ',
      h('input', { name: 'target', value: 'blocks.4.mlp.hook_post[0]', size: 32, required: true }),
    ),
    h('label', {}, 'iterations ', h('input', { name: 'iters', type: 'number', min: 1, value: 300, size: 6 })),
    h('label', {}, 'seed ', h('input', { name: 'seed', type: 'number', min: 0, value: 0, size: 6 })),
    h('button', { type: 'submit' }, 'Dream'),
    message,
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const data = new FormData(form);
    message.textContent = 'starting…';
    startDream({
      model: String(data.get('model')),
      target: String(data.get('target')),
      iters: Number(data.get('iters')),
      seed: Number(data.get('seed')),
    }).then(
      (started) => location.assign(started.url),
      (error: Error) => (message.textContent = error.message),
    );
  });
  return form;
}

function render(view: HomeView): void {
  const main = mainElement();
  main.append(
    section(
      'Models',
      h(
        'table',
        {},
        h('tr', {}, h('th', {}, 'model'), h('th', {}, 'runs'), h('th', {}, 'sweeps'), h('th', {}, 'scans')),
        ...view.models.map((m) =>
          h(
            'tr',
            {},
            h('td', {}, m.name),
            h('td', { class: 'num' }, m.runs),
            h('td', { class: 'num' }, m.sweeps),
            h('td', { class: 'num' }, m.scans),
          ),
        ),
      ),
    ),
    section(
      'Sweeps',
      view.sweeps.length === 0
        ? h('p', {}, 'No sweep yet: reverie sweep --target HOOK[*] --corpus FILE')
        : h(
            'table',
            {},
            h(
              'tr',
              {},
              ...['sweep', 'features', 'model', 'status', 'finished', 'wins', 'time', 'dreaming now'].map(
                (t) => h('th', {}, t),
              ),
            ),
            ...view.sweeps.map(sweepRow),
          ),
    ),
    section(
      'Dream',
      h(
        'p',
        { class: 'note' },
        `This server runs ${view.jobs.running} dream${view.jobs.running === 1 ? '' : 's'} on ${view.jobs.threads} of ${view.jobs.maxThreads} threads.`,
      ),
      dreamForm(view),
    ),
    section(
      'Recent dreams',
      h(
        'table',
        {},
        h(
          'tr',
          {},
          ...['run', 'target', 'model', 'status', 'iterations', 'best', 'sweep'].map((t) => h('th', {}, t)),
        ),
        ...view.runs.map(runRow),
      ),
    ),
    section(
      'Scans',
      h(
        'table',
        {},
        h('tr', {}, ...['scan', 'target', 'model', 'context', 'size', 'created'].map((t) => h('th', {}, t))),
        ...view.scans.map((s) =>
          h(
            'tr',
            {},
            h('td', {}, link(s.url, `${s.kind === 'features' ? 'feature scan' : 'scan'} ${s.id}`)),
            h('td', {}, h('code', {}, s.target)),
            h('td', {}, s.model),
            h('td', {}, s.context),
            h('td', { class: 'num' }, `${s.size} ${s.kind === 'features' ? 'features' : 'examples'}`),
            h('td', {}, s.createdAt.replace('T', ' ').slice(0, 19)),
          ),
        ),
      ),
    ),
  );
}

export function homePage(view: HomeView): void {
  render(view);
  const busy = (v: HomeView) => v.sweeps.some((s) => s.status === 'running') || v.runs.some((r) => r.live);
  let current = view;
  const poll = () => {
    // No redraw while the dream form has the focus (it would lose what is typed).
    if (!busy(current) || document.activeElement?.closest('form')) return void setTimeout(poll, POLL_MS);
    refreshView<HomeView>().then(
      (next) => {
        current = next;
        render(next);
        setTimeout(poll, POLL_MS);
      },
      () => setTimeout(poll, POLL_MS * 3),
    );
  };
  setTimeout(poll, POLL_MS);
}
