/** A little DOM: elements from tags, attributes and children; numbers as the tables show them. */

type Child = Node | string | number | null | undefined | false;
type Attributes = Record<string, string | number | boolean | EventListener | null | undefined>;

/** An element: `h('a', { href: '/' }, 'home')`; `on…` attributes are listeners, `false`/null ones are left out. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Attributes = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (typeof value === 'function') element.addEventListener(name.slice(2), value);
    else if (value === true) element.setAttribute(name, '');
    else element.setAttribute(name, String(value));
  }
  element.append(
    ...children
      .filter((c): c is Node | string | number => c !== null && c !== undefined && c !== false)
      .map((c) => (typeof c === 'number' ? String(c) : c)),
  );
  return element;
}

/** A number with three decimals (or in exponent form where large), a dash for none. */
export const num = (x: number | null | undefined, digits = 3): string =>
  x === null || x === undefined || !Number.isFinite(x)
    ? '—'
    : Math.abs(x) >= 1e4
      ? x.toExponential(2)
      : x.toFixed(digits);

/** A text quoted as it reads (no JSON escapes), control characters made visible. */
export const quoted = (text: string): string => `"${text}"`;

/** A section with a heading. */
export const section = (title: string, ...children: Child[]): HTMLElement =>
  h('section', {}, h('h2', {}, title), ...children);

/** Seconds as `12.3 s`, `4.5 min` or `1 h 12 min`. */
export function duration(seconds: number): string {
  if (seconds < 120) return `${seconds.toFixed(1)} s`;
  if (seconds < 3600) return `${(seconds / 60).toFixed(1)} min`;
  return `${Math.floor(seconds / 3600)} h ${Math.round((seconds % 3600) / 60)} min`;
}

/** The page's main element, emptied but for its heading. */
export function mainElement(): HTMLElement {
  const main = document.getElementById('app') as HTMLElement;
  for (const child of Array.from(main.children)) if (child.tagName !== 'H1') child.remove();
  return main;
}
