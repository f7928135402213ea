/** Colour scales shared by the terminal and HTML reports. */

export type Rgb = readonly [number, number, number];

/** ColorBrewer's sequential "Reds" (as matplotlib's "Reds", dreamy's attribution colormap), white to dark red. */
const REDS: readonly Rgb[] = [
  [255, 245, 240],
  [254, 224, 210],
  [252, 187, 161],
  [252, 146, 114],
  [251, 106, 74],
  [239, 59, 44],
  [203, 24, 29],
  [165, 15, 21],
  [103, 0, 13],
];

/** The Reds colour of t in [0, 1] (clamped), linearly interpolated between the scheme's stops. */
export function reds(t: number): Rgb {
  const x = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0)) * (REDS.length - 1);
  const i = Math.min(Math.floor(x), REDS.length - 2);
  const f = x - i;
  const a = REDS[i] as Rgb;
  const b = REDS[i + 1] as Rgb;
  return [0, 1, 2].map((c) => Math.round((a[c] as number) + f * ((b[c] as number) - (a[c] as number)))) as [
    number,
    number,
    number,
  ];
}

export const cssColor = ([r, g, b]: Rgb): string => `rgb(${r}, ${g}, ${b})`;

/** Whether text on this background reads better in white (relative luminance below one half). */
export const needsLightText = ([r, g, b]: Rgb): boolean => 0.2126 * r + 0.7152 * g + 0.0722 * b < 128;

/** The nearest colour of the xterm 256-colour cube (indices 16..231): each channel one of 0,95,135,175,215,255. */
export function xterm256([r, g, b]: Rgb): number {
  const levels = [0, 95, 135, 175, 215, 255];
  const nearest = (v: number) =>
    levels.reduce(
      (best, level, i) => (Math.abs(level - v) < Math.abs((levels[best] as number) - v) ? i : best),
      0,
    );
  return 16 + 36 * nearest(r) + 6 * nearest(g) + nearest(b);
}

/** `text` on an ANSI 256-colour background (black or white text, whichever reads). */
export function ansiBackground(text: string, rgb: Rgb): string {
  const fg = needsLightText(rgb) ? 231 : 16;
  return `\x1b[48;5;${xterm256(rgb)}m\x1b[38;5;${fg}m${text}\x1b[0m`;
}

export function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string,
  );
}

/**
 * Control characters (C0 but tab, newline and carriage return; DEL) as their Unicode control pictures
 * (U+2400…): XML may not hold them (an SVG with one does not parse) and a terminal would act on them.
 */
export function showControls(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/g, (c) =>
    String.fromCharCode(c === '\x7f' ? 0x2421 : 0x2400 + c.charCodeAt(0)),
  );
}
