import type { Attribution, PositionAttribution, Replacement } from '../dream/attribution.ts';
import { ansiBackground, cssColor, escapeHtml, needsLightText, reds, showControls } from './colors.ts';
import { htmlPage } from './html.ts';

const fmt = (x: number): string => (Math.abs(x) >= 1e4 ? x.toExponential(2) : x.toFixed(3));

/** A token as it reads inside a line of text: control characters made visible. */
const visible = (text: string | null, id: number): string =>
  text === null ? `#${id}` : showControls(text.replace(/\n/g, '↵').replace(/\r/g, '␍').replace(/\t/g, '⇥'));

/** A token quoted, for tables. */
const quoted = (text: string | null, id: number): string => (text === null ? `#${id}` : JSON.stringify(text));

const DIM = '\x1b[2m';
const UNDIM = '\x1b[22m';

/** A token in HTML as it reads, without JSON's escapes: in a box that keeps its spaces. */
const tokenHtml = (text: string | null, id: number): string =>
  `<code class="t">${escapeHtml(visible(text, id))}</code>`;

const bar = (t: number, width = 8): string => {
  const filled = Math.round(Math.min(1, Math.max(0, t)) * width);
  return '█'.repeat(filled) + '·'.repeat(width - filled);
};

const clip = (text: string, width: number): string =>
  text.length > width ? `${text.slice(0, width - 1)}…` : text;

const swap = (r: Replacement, width = 12): string => `${clip(quoted(r.text, r.id), width)} ${fmt(r.target)}`;

/**
 * The terminal view of an attribution: a header, the prompt with each token on a background shaded by its
 * importance (ANSI 256 colours when `color`, every other token dim so that their boundaries show; without
 * colour a `|` between tokens; `plain`: the text alone), and a table per position: importance, the largest
 * drop, the worst swap and the top-3 swaps with their targets.
 */
export function attributionText(
  a: Attribution,
  { color, plain = false }: { color: boolean; plain?: boolean },
): string {
  const lines = [
    `${a.target} on ${a.model}: target ${fmt(a.baseline.target)}, xent ${fmt(a.baseline.xent)} ` +
      `(${a.bos === null ? '' : 'BOS + '}${a.ids.length} tokens, ${a.k} gradient-favoured swaps per position)`,
    '',
  ];
  const tokens = a.positions.map((p, i) => {
    const text = visible(p.text, p.id);
    if (!color) return text;
    return ansiBackground(plain || i % 2 === 0 ? text : `${DIM}${text}${UNDIM}`, reds(p.importance));
  });
  lines.push(`  ${a.bos === null ? '' : '[BOS]'}${tokens.join(color || plain ? '' : '|')}`, '');
  const tokenWidth = Math.min(16, Math.max(5, ...a.positions.map((p) => quoted(p.text, p.id).length)));
  lines.push(
    `  ${'pos'.padStart(3)}  ${'token'.padEnd(tokenWidth)}  ${'importance'.padEnd(13)}  ${'drop'.padStart(8)}  ` +
      `${'worst swap'.padEnd(21)}  top-3 swaps`,
  );
  for (const p of a.positions) {
    const shade = color ? ansiBackground(bar(p.importance), reds(p.importance)) : bar(p.importance);
    lines.push(
      `  ${String(p.position).padStart(3)}  ${clip(quoted(p.text, p.id), tokenWidth).padEnd(tokenWidth)}  ` +
        `${shade} ${p.importance.toFixed(2).padStart(4)}` +
        `  ${fmt(p.drop).padStart(8)}  ${swap(p.worst).padEnd(21)}  ${p.top.map((r) => swap(r)).join('   ')}`,
    );
  }
  return lines.join('\n');
}

function tooltip(p: PositionAttribution): string {
  const row = (label: string, r: Replacement) =>
    `<tr><th>${label}</th><td>${tokenHtml(r.text, r.id)}</td><td>${fmt(r.target)}</td><td>${fmt(r.xent)}</td></tr>`;
  return (
    `<span class="tip"><b>position ${p.position}</b> ${tokenHtml(p.text, p.id)}: ` +
    `largest drop ${fmt(p.drop)}<table><tr><th></th><th>swap</th><th>target</th><th>xent</th></tr>` +
    row('worst', p.worst) +
    p.top.map((r, i) => row(`top ${i + 1}`, r)).join('') +
    `</table></span>`
  );
}

/**
 * A self-contained HTML page of an attribution: the prompt's tokens on backgrounds shaded by importance,
 * hovering a token shows its worst and top-3 swaps, and the full table below.
 */
export function attributionHtml(a: Attribution): string {
  const tokens = a.positions
    .map((p) => {
      const rgb = reds(p.importance);
      const style = `background:${cssColor(rgb)};color:${needsLightText(rgb) ? '#fff' : '#000'}`;
      return `<span class="tok" style="${style}">${escapeHtml(visible(p.text, p.id))}${tooltip(p)}</span>`;
    })
    .join('');
  const rows = a.positions
    .map(
      (p) =>
        `<tr><td>${p.position}</td><td>${tokenHtml(p.text, p.id)}</td>` +
        `<td><span class="swatch" style="background:${cssColor(reds(p.importance))}"></span>${fmt(p.importance)}</td>` +
        `<td>${fmt(p.drop)}</td><td>${tokenHtml(p.worst.text, p.worst.id)} ${fmt(p.worst.target)}</td>` +
        `<td>${p.top.map((r) => `${tokenHtml(r.text, r.id)} ${fmt(r.target)}`).join(', ')}</td></tr>`,
    )
    .join('\n');
  const title = `Attribution of ${a.target}`;
  return htmlPage(
    title,
    `.prompt { font-family: ui-monospace, monospace; font-size: 18px; margin: 1.5em 0 12em; }
.tok { position: relative; white-space: pre; padding: 3px 0; border: 1px solid #555; margin-left: -1px; cursor: default; }
.bos { color: #888; font-size: 14px; margin-right: 4px; }
.tip { display: none; position: absolute; top: 130%; left: 0; z-index: 1; white-space: nowrap; background: #fafafa;
  color: #222; border: 1px solid #ccc; border-radius: 4px; padding: 6px; font: 13px system-ui, sans-serif; box-shadow: 0 2px 6px #0002; }
.tok:hover .tip { display: block; }
.tip th, .tip td { padding: 1px 6px; text-align: left; }
table.positions { border-collapse: collapse; font-size: 14px; }
table.positions th, table.positions td { border-bottom: 1px solid #ddd; padding: 3px 10px; text-align: left; }
code.t { white-space: pre; background: #f4f4f4; border: 1px solid #ddd; border-radius: 2px; padding: 0 2px; }
.swatch { display: inline-block; width: 1em; height: 1em; vertical-align: middle; margin-right: 6px; border: 1px solid #999; }`,
    `<p>Model <code>${escapeHtml(a.model)}</code>. Target ${fmt(a.baseline.target)}, cross-entropy ${fmt(a.baseline.xent)}.
Each position is swapped with the ${a.k} tokens its gradient favours most; a token's shade is the largest drop of the
target under those swaps, relative to the largest of the prompt. Hover a token for its swaps.</p>
<div class="prompt">${a.bos === null ? '' : '<span class="bos">[BOS]</span>'}${tokens}</div>
<table class="positions">
<tr><th>pos</th><th>token</th><th>importance</th><th>largest drop</th><th>worst swap</th><th>top-3 swaps</th></tr>
${rows}
</table>`,
  );
}
