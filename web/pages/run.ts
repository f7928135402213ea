/** A run: what it was asked, its frontier (live while it runs, with Cancel for a dream of this server). */
import type { FigurePoint } from '../../src/report/figure.ts';
import type { RunInfo, RunView } from '../../src/server/types.ts';
import { cancelRun, followRun } from '../api.ts';
import { duration, h, mainElement, num, section } from '../dom.ts';
import { frontierChart, paperFigure } from '../plots.ts';
import { plainText } from '../tokens.ts';

const DRAW_MS = 300;

export function runPage(view: RunView): void {
  const { run, progress } = view;
  const main = mainElement();
  const facts = h('p', {});
  const figure = h('div');
  const chart = h('div');
  const table = h('table', {});
  const cancel = h('button', { type: 'button', disabled: !run.job }, 'Cancel');
  const message = h('span', { class: 'message' });
  const colors = new Map([[run.label, view.colors.dream]]);

  const describe = (r: RunInfo) =>
    facts.replaceChildren(
      `${r.model} · ${r.status} · ${r.iterations}${r.iters === null ? '' : ` of ${r.iters}`} iterations · ${r.evaluations.toLocaleString('en-US')} evaluations · ${duration(r.seconds)} · best ${num(r.bestTarget)}`,
      r.featureUrl ? h('span', {}, ' · ', h('a', { href: r.featureUrl }, 'its feature')) : '',
      r.sweepId === null
        ? ''
        : h('span', {}, ' · ', h('a', { href: `/sweeps/${r.sweepId}` }, `sweep ${r.sweepId}`)),
    );
  let pending = false;
  const draw = () => {
    pending = false;
    const points: FigurePoint[] = progress.frontier.map((p) => ({
      kind: 'dream',
      xent: p.xent,
      activation: p.target,
      text: p.text,
      source: run.label,
    }));
    figure.replaceChildren(
      paperFigure(points, {
        colors: {
          dataset: '#4269d0',
          dream: view.colors.dream,
          frontier: view.colors.frontier,
          runs: [[run.label, view.colors.dream]],
        },
        bar: null,
      }),
    );
    chart.replaceChildren(frontierChart([progress], { colors }));
    table.replaceChildren(
      h('tr', {}, h('th', {}, 'activation'), h('th', {}, 'xent'), h('th', {}, 'prompt')),
      ...[...progress.frontier]
        .sort((a, b) => b.target - a.target)
        .map((p) =>
          h(
            'tr',
            {},
            h('td', { class: 'num' }, num(p.target)),
            h('td', { class: 'num' }, num(p.xent)),
            h('td', {}, plainText(p.text)),
          ),
        ),
    );
  };
  const schedule = () => {
    if (!pending) setTimeout(draw, DRAW_MS);
    pending = true;
  };

  cancel.addEventListener('click', () => {
    cancel.disabled = true;
    message.textContent = 'stopping after this iteration…';
    cancelRun(run.id).catch((error: Error) => (message.textContent = error.message));
  });
  main.append(
    facts,
    run.live ? h('div', { class: 'live' }, cancel, ' ', message) : '',
    section('Frontier', figure),
    section('Best activation over iterations', chart),
    section('Frontier prompts', table),
    section('Options', h('pre', {}, JSON.stringify(view.options, null, 1))),
  );
  describe(run);
  draw();
  if (run.live)
    followRun(run.id, null, (event) => {
      if (event.type === 'state') {
        progress.series = event.progress.series;
        progress.frontier = event.progress.frontier;
        describe(event.run);
      } else if (event.type === 'iteration') {
        progress.series.push({ iter: event.iter, best: event.best, fluent: null });
        progress.frontier = event.frontier;
        message.textContent = `iteration ${event.iter + 1}, best ${num(event.best)}`;
      } else {
        describe(event.run);
        cancel.disabled = true;
        message.textContent = `${event.run.status}: everything done is kept`;
      }
      schedule();
    });
}
