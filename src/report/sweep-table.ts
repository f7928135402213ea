/**
 * A sweep's table: per feature, its top dataset example, the best dream at most as perplexing as the median
 * top example, the margin and whether the dream wins; then the count of wins. The paper's comparison for a
 * whole layer, as `reverie sweep --show` prints it.
 */
import type { SweepFeatureRow, SweepRow } from '../store/sweeps.ts';

const clip = (text: string, width: number): string => {
  const quoted = JSON.stringify(text);
  return quoted.length > width ? `${quoted.slice(0, width - 1)}…` : quoted.padEnd(width);
};

const num = (v: number, width = 7): string => v.toFixed(3).padStart(width);

/** The feature's name in the table: its index in the hook (or SAE), from its target spec. */
export const featureLabel = (target: string): string => /\[(\d+)\](@-?\d+)?$/.exec(target)?.[1] ?? target;

/** The count line: `wins: 97 of 172 features (56.4%)`, with what is not finished yet. */
export function winsLine(row: SweepRow): string {
  const { features, finished, failed, wins } = row;
  const share = finished > 0 ? ` (${((100 * wins) / finished).toFixed(1)}%)` : '';
  const open = features - finished - failed;
  const rest = [failed > 0 && `${failed} failed`, open > 0 && `${open} not yet dreamed`].filter(Boolean);
  return `wins: ${wins} of ${finished} features${share}${rest.length ? `; ${rest.join(', ')}` : ''}`;
}

/** Minutes of a sweep: `12.5 min`, or hours and minutes past an hour. */
const minutes = (seconds: number): string =>
  seconds < 3600
    ? `${(seconds / 60).toFixed(1)} min`
    : `${Math.floor(seconds / 3600)} h ${Math.round((seconds % 3600) / 60)} min`;

/** The table's lines, `textWidth` characters per prompt. */
export function sweepTable(row: SweepRow, features: readonly SweepFeatureRow[], textWidth = 34): string[] {
  const name = row.name === null ? '' : ` (${row.name})`;
  const lines = [
    `sweep ${row.id}${name}: ${row.spec.target} on ${row.spec.model.id}, ${row.status}, ${minutes(row.seconds)}`,
    `  ${'feature'.padStart(7)}  ${'top ex.'.padStart(7)}  ${'top example'.padEnd(textWidth)}  ${'dream'.padStart(7)}  ${'xent'.padStart(5)}  ${'best dream ≤ median xent'.padEnd(textWidth)}  ${'margin'.padStart(7)}  win`,
  ];
  for (const f of features) {
    const label = featureLabel(f.target).padStart(7);
    const r = f.result;
    if (!r) {
      lines.push(`  ${label}  ${f.status === 'failed' ? `failed: ${f.error ?? ''}` : f.status}`);
      continue;
    }
    const dream = r.bestDream;
    lines.push(
      `  ${label}  ${num(r.topExample.activation)}  ${clip(r.topExample.text, textWidth)}  ` +
        (dream
          ? `${num(dream.activation)}  ${dream.xent.toFixed(2).padStart(5)}  ${clip(dream.text, textWidth)}  ${`${(r.margin as number) >= 0 ? '+' : ''}${(r.margin as number).toFixed(3)}`.padStart(7)}`
          : `${'—'.padStart(7)}  ${''.padStart(5)}  ${'(no dream that fluent)'.padEnd(textWidth)}  ${'—'.padStart(7)}`) +
        `  ${r.win ? 'yes' : 'no'}`,
    );
  }
  lines.push(winsLine(row));
  return lines;
}
