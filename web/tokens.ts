/**
 * Prompts token by token, each on a background of the "Reds" scale (as `reverie attribute --html` shades
 * them): by attribution importance, hovering a token shows its worst and top-3 swaps; or by the feature's
 * activation at that token.
 */
import type { PositionAttribution, Replacement } from '../src/dream/attribution.ts';
import { cssColor, needsLightText, reds, showControls } from '../src/report/colors.ts';
import type { AttributionView, ShadedToken } from '../src/server/types.ts';
import { h, num } from './dom.ts';

/** A token as it reads inside a line: newlines, returns and tabs as arrows, control characters as pictures. */
export const visible = (text: string): string =>
  showControls(text.replace(/\n/g, '↵').replace(/\r/g, '␍').replace(/\t/g, '⇥'));

function shaded(text: string, t: number, title?: HTMLElement): HTMLElement {
  const rgb = reds(t);
  const token = h(
    'span',
    { class: 'tok', style: `background:${cssColor(rgb)};color:${needsLightText(rgb) ? '#fff' : '#000'}` },
    visible(text),
  );
  if (title) token.append(title);
  return token;
}

const swapRow = (label: string, r: Replacement): HTMLElement =>
  h(
    'tr',
    {},
    h('th', {}, label),
    h('td', {}, h('code', {}, visible(r.text ?? `#${r.id}`))),
    h('td', {}, num(r.target)),
    h('td', {}, num(r.xent)),
  );

function swaps(
  p: Pick<PositionAttribution, 'position' | 'text' | 'id' | 'drop' | 'worst' | 'top'>,
): HTMLElement {
  return h(
    'span',
    { class: 'tip' },
    h('b', {}, `position ${p.position} `),
    h('code', {}, visible(p.text ?? `#${p.id}`)),
    `: largest drop ${num(p.drop)}`,
    h(
      'table',
      {},
      h('tr', {}, h('th'), h('th', {}, 'swap'), h('th', {}, 'target'), h('th', {}, 'xent')),
      swapRow('worst', p.worst),
      ...p.top.map((r, i) => swapRow(`top ${i + 1}`, r)),
    ),
  );
}

/** An attributed prompt: each token shaded by its importance, its swaps on hover. */
export function attributedTokens(a: Pick<AttributionView, 'bos' | 'positions'>): HTMLElement {
  return h(
    'div',
    { class: 'tokens' },
    a.bos === null ? null : h('span', { class: 'bos' }, '[BOS]'),
    ...a.positions.map((p) => shaded(p.text ?? `#${p.id}`, p.importance, swaps(p))),
  );
}

/** Tokens shaded by their value over `scale` (the feature's top activation); the token at `at` outlined. */
export function activationTokens(tokens: readonly ShadedToken[], scale: number, at = -1): HTMLElement {
  return h(
    'div',
    { class: 'tokens' },
    ...tokens.map((t, i) => {
      const token = shaded(
        t.text,
        scale > 0 ? t.value / scale : 0,
        h('span', { class: 'tip' }, `activation ${num(t.value)}`),
      );
      if (i === at) token.classList.add('at');
      return token;
    }),
  );
}

/** A prompt's text, unshaded. */
export const plainText = (text: string): HTMLElement => h('code', { class: 'text' }, `"${visible(text)}"`);
