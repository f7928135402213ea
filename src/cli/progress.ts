import type { DreamProgress } from '../dream/run.ts';
import type { Model } from '../models/model.ts';
import type { VersusDataset } from '../report/quality.ts';

const fmt = (v: number): string => (Math.abs(v) >= 100 ? v.toFixed(1) : v.toFixed(3));

/** The text of a prompt for one terminal line. */
export function promptText(model: Model, ids: readonly number[], width = 70): string {
  const text = JSON.stringify(model.tokenizer?.decode([...ids]) ?? ids.join(' '));
  return text.length > width ? `${text.slice(0, width - 1)}…` : text;
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
  ) {}

  update({ record, state, total, evaluationsPerSecond }: DreamProgress): void {
    this.versus?.observe(record.candidates);
    const head = `iter ${record.iter + 1}/${total}  ${Math.round(evaluationsPerSecond)} evals/s  ${state.evaluations} evaluated${record.dropped ? `  ${record.dropped} dropped (round-trip)` : ''}`;
    if (!this.stream.isTTY) {
      if ((record.iter + 1) % this.every === 0 || record.iter + 1 === total) {
        const best = state.population.reduce((a, b) => (b.target > a.target ? b : a));
        this.stream.write(
          `${head}  best ${fmt(best.target)} (xent ${fmt(best.xent)}) ${promptText(this.model, best.ids)}${this.versus ? `  ${this.versus.text()}` : ''}\n`,
        );
      }
      return;
    }
    const lines = [
      head,
      ...(this.versus ? [`  ${this.versus.text()}`] : []),
      ...state.population.map(
        (m) =>
          `  λ=${m.penalty.toFixed(2).padStart(5)}  target ${fmt(m.target).padStart(8)}  xent ${fmt(m.xent).padStart(6)}  ${promptText(this.model, m.ids)}`,
      ),
    ];
    if (this.drawn > 0) this.stream.write(`\x1b[${this.drawn}A`);
    this.stream.write(lines.map((l) => `\x1b[2K${l}\n`).join(''));
    this.drawn = lines.length;
  }
}
