import type { ScanResult } from '../data/scan.ts';
import type { DreamProgress } from '../dream/run.ts';
import type { Model } from '../models/model.ts';
import { median } from '../report/stats.ts';

const fmt = (v: number): string => (Math.abs(v) >= 100 ? v.toFixed(1) : v.toFixed(3));
const signed = (v: number): string => `${v >= 0 ? '+' : ''}${fmt(v)}`;

/** The text of a prompt for one terminal line. */
export function promptText(model: Model, ids: readonly number[], width = 70): string {
  const text = JSON.stringify(model.tokenizer?.decode([...ids]) ?? ids.join(' '));
  return text.length > width ? `${text.slice(0, width - 1)}…` : text;
}

/**
 * The paper's comparison as a run goes (`reverie dream --against SCAN`): the best activation so far among
 * the candidates at or below the scan's median cross-entropy, against the top dataset example's activation,
 * with the median and the top as `reverie compare` computes them.
 */
export class VersusDataset {
  /** The best activation seen at xent ≤ medianXent; undefined until a candidate is that fluent. */
  best: number | undefined;
  constructor(
    readonly medianXent: number,
    readonly topActivation: number,
  ) {}

  static of(scan: ScanResult): VersusDataset {
    return new VersusDataset(
      median(scan.examples.map((e) => e.xent)),
      scan.examples.reduce((top, e) => Math.max(top, e.activation), -Infinity),
    );
  }

  observe(points: readonly { target: number; xent: number }[]): void {
    for (const p of points)
      if (p.xent <= this.medianXent && (this.best === undefined || p.target > this.best))
        this.best = p.target;
  }

  /** `vs dataset: best ≤ median xent 3.676: 2.310 (top example 5.247, -2.937)`. */
  text(): string {
    const head = `vs dataset: best ≤ median xent ${fmt(this.medianXent)}: `;
    const top = `top example ${fmt(this.topActivation)}`;
    return this.best === undefined
      ? `${head}— (${top})`
      : `${head}${fmt(this.best)} (${top}, ${signed(this.best - this.topActivation)})`;
  }
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
