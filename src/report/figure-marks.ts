/**
 * Marks the paper's figure draws the same way on the server (figure.ts) and in the browser (web/plots.ts):
 * the faint grid, and the dashed rule at the median dataset example's cross-entropy with its label.
 */
import * as Plot from '@observablehq/plot';

/** The grid and, where there is one, the median-xent rule. */
export function baseMarks(medianXent: number | null | undefined): Plot.Markish[] {
  const marks: Plot.Markish[] = [Plot.gridX({ strokeOpacity: 0.06 }), Plot.gridY({ strokeOpacity: 0.06 })];
  if (medianXent !== null && medianXent !== undefined)
    marks.push(
      Plot.ruleX([medianXent], { stroke: '#888', strokeDasharray: '4,3' }),
      Plot.text([medianXent], {
        x: (d: number) => d,
        frameAnchor: 'bottom',
        dy: -4,
        dx: 4,
        textAnchor: 'start',
        fill: '#666',
        text: () => 'median dataset xent',
      }),
    );
  return marks;
}
