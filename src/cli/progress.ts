import type { DreamProgress } from '../dream/run.ts';
import type { Model } from '../models/model.ts';
import type { VersusDataset } from '../report/quality.ts';

const fmt = (v: number): string => (Math.abs(v) >= 100 ? v.toFixed(1) : v.toFixed(3));

/**
 * How a prompt shows its tokens on a terminal: `plain`, the text as it reads; `bars`, a `|` between tokens
 * (a `|` inside a token shows as `\|`); `shade`, every other token dim (ANSI), for colour terminals.
 */
export type TokenStyle = 'plain' | 'bars' | 'shade';

/** Whether to colour a stream: FORCE_COLOR and NO_COLOR win, else only on a terminal. */
export function useColor(stream: NodeJS.WriteStream = process.stdout): boolean {
  if (process.env.NO_COLOR) return false;
  if (process.env.FORCE_COLOR && process.env.FORCE_COLOR !== '0') return true;
  return stream.isTTY === true;
}

/** The `--plain` option of commands that print prompts. */
export const PLAIN_OPTION = { plain: { type: 'boolean' } } as const;

/** The help line of `--plain`, its text starting at `column` as the command's other options do. */
export const plainHelp = (column: number): string =>
  [
    'prompts as plain text (default: their token boundaries shown, alternating dim',
    'and normal tokens on a colour terminal, else a | between tokens)',
  ]
    .map((line, i) => `${(i === 0 ? '      --plain' : '').padEnd(column)}${line}`)
    .join('\n');

/** The token style of a command's prompts on `stream`: plain with --plain, shaded in colour, else bars. */
export function tokenStyle(
  values: Record<string, unknown>,
  stream: NodeJS.WriteStream = process.stdout,
): TokenStyle {
  if (values.plain === true) return 'plain';
  return useColor(stream) ? 'shade' : 'bars';
}

const DIM = '\x1b[2m';
const UNDIM = '\x1b[22m';

/**
 * Token texts as one quoted terminal string with their boundaries shown (see {@link TokenStyle}), each
 * token escaped as in JSON; cut to `width` visible characters with a closing `…`.
 */
export function tokensText(pieces: readonly string[], style: TokenStyle, width = Infinity): string {
  if (style === 'plain') return clipVisible([JSON.stringify(pieces.join(''))], '', width);
  const escaped = pieces.map((piece) => {
    const text = JSON.stringify(piece).slice(1, -1);
    return style === 'bars' ? text.replace(/\|/g, '\\|') : text;
  });
  const parts = ['"', ...escaped, '"'];
  return clipVisible(parts, style === 'bars' ? '|' : '', width, style === 'shade');
}

/** Parts joined by `separator` (the first and last, the quotes, without one), cut to `width` characters. */
function clipVisible(parts: readonly string[], separator: string, width: number, shade = false): string {
  const quoted = parts.length > 1;
  const tokens = quoted ? parts.slice(1, -1) : [...parts];
  const total =
    tokens.reduce((n, t) => n + t.length, 0) +
    separator.length * Math.max(0, tokens.length - 1) +
    (quoted ? 2 : 0);
  const fits = total <= width;
  let room = fits ? Infinity : width - 1; // the visible characters before the `…`
  let out = '';
  const take = (text: string, styled: boolean) => {
    const piece = text.slice(0, Math.max(0, room));
    room -= piece.length;
    out += styled && piece ? `${DIM}${piece}${UNDIM}` : piece;
    return piece.length === text.length;
  };
  if (quoted && !take('"', false)) return `${out}…`;
  for (const [i, token] of tokens.entries()) {
    if (i > 0 && !take(separator, false)) return `${out}…`;
    if (!take(token, shade && i % 2 === 1)) return `${out}…`;
  }
  if (quoted && !take('"', false)) return `${out}…`;
  return fits ? out : `${out}…`;
}

/**
 * The token texts of a prompt, as its decoded text reads: a SentencePiece prompt's first token keeps the
 * space its decoded text drops.
 */
export function tokenPieces(model: Model, ids: readonly number[]): string[] | undefined {
  const tokenizer = model.tokenizer;
  if (!tokenizer) return undefined;
  const pieces = ids.map((id) => tokenizer.decodeToken(id));
  const text = tokenizer.decode([...ids]);
  const first = pieces[0];
  if (first?.startsWith(' ') && pieces.join('') !== text && pieces.join('').slice(1) === text)
    pieces[0] = first.slice(1);
  return pieces;
}

/**
 * The text of a prompt for one terminal line, with its token boundaries shown as `style` says (default:
 * as {@link tokenStyle} chooses for stdout).
 */
export function promptText(
  model: Model,
  ids: readonly number[],
  width = 70,
  style: TokenStyle = tokenStyle({}),
): string {
  const pieces = style === 'plain' ? undefined : tokenPieces(model, ids);
  if (!pieces) {
    const text = JSON.stringify(model.tokenizer?.decode([...ids]) ?? ids.join(' '));
    return text.length > width ? `${text.slice(0, width - 1)}…` : text;
  }
  return tokensText(pieces, style, width);
}

/**
 * Live EPO progress: on a terminal, one block redrawn in place (iteration, evaluations/s, with `versus` the
 * comparison with the dataset, and per penalty slot its member's target, xent and text); otherwise a plain
 * line every `every` iterations (the comparison at its end).
 */
export class ProgressView {
  private drawn = 0;
  constructor(
    private readonly model: Model,
    private readonly stream: NodeJS.WriteStream = process.stderr,
    private readonly every = 10,
    private readonly versus?: VersusDataset,
    /** How prompts show their tokens (default: as {@link tokenStyle} chooses for the stream). */
    private readonly style: TokenStyle = tokenStyle({}, stream),
  ) {}

  update({ record, state, total, evaluationsPerSecond }: DreamProgress): void {
    this.versus?.observe(record.candidates);
    const head = `iter ${record.iter + 1}/${total}  ${Math.round(evaluationsPerSecond)} evals/s  ${state.evaluations} evaluated${record.dropped ? `  ${record.dropped} dropped (round-trip)` : ''}`;
    if (!this.stream.isTTY) {
      if ((record.iter + 1) % this.every === 0 || record.iter + 1 === total) {
        const best = state.population.reduce((a, b) => (b.target > a.target ? b : a));
        this.stream.write(
          `${head}  best ${fmt(best.target)} (xent ${fmt(best.xent)}) ${promptText(this.model, best.ids, 70, this.style)}${this.versus ? `  ${this.versus.text()}` : ''}\n`,
        );
      }
      return;
    }
    const lines = [
      head,
      ...(this.versus ? [`  ${this.versus.text()}`] : []),
      ...state.population.map(
        (m) =>
          `  λ=${m.penalty.toFixed(2).padStart(5)}  target ${fmt(m.target).padStart(8)}  xent ${fmt(m.xent).padStart(6)}  ${promptText(this.model, m.ids, 70, this.style)}`,
      ),
    ];
    if (this.drawn > 0) this.stream.write(`\x1b[${this.drawn}A`);
    this.stream.write(lines.map((l) => `\x1b[2K${l}\n`).join(''));
    this.drawn = lines.length;
  }
}

/** A duration for a progress line: 42s, 3m05s, 1h02m. */
export function duration(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor(s / 60) % 60).padStart(2, '0')}m`;
}
