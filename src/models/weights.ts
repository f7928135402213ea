import { constant, type Node } from '../graph/index.ts';
import { numel, type HostTensor, type WeightSource } from '../io/tensors.ts';

const fmt = (shape: readonly number[]) => `[${shape.join(',')}]`;

export interface MisshapedTensor {
  name: string;
  expected: number[];
  got: number[];
}

/**
 * A checkpoint whose tensors do not fit the architecture: every missing, unexpected and mis-shaped tensor
 * is listed by name, with the expected and actual shapes.
 */
export class WeightMapError extends Error {
  override name = 'WeightMapError';
  constructor(
    readonly architecture: string,
    readonly missing: { name: string; shape: number[] }[],
    readonly unexpected: { name: string; shape: number[] }[],
    readonly misshaped: MisshapedTensor[],
    readonly path = 'the checkpoint',
  ) {
    const lines = [
      ...missing.map((t) => `  missing    ${t.name} ${fmt(t.shape)}`),
      ...unexpected.map((t) => `  unexpected ${t.name} ${fmt(t.shape)}`),
      ...misshaped.map((t) => `  mis-shaped ${t.name}: expected ${fmt(t.expected)}, got ${fmt(t.got)}`),
    ];
    super(
      `${path} does not fit ${architecture}: ${missing.length} missing, ${unexpected.length} unexpected, ` +
        `${misshaped.length} mis-shaped tensors\n${lines.join('\n')}`,
    );
  }
}

/** A tensor's shape, without reading its data where the source can tell. */
export function shapeOf(source: WeightSource, name: string): number[] | undefined {
  return source.shape ? source.shape(name) : source.get(name)?.shape;
}

/**
 * Reads the tensors of one architecture from a checkpoint and accounts for all of them: `take` each
 * expected tensor with its shape, `skip` the buffers that carry no parameters, then `finish`, which throws
 * a WeightMapError listing everything missing, unexpected or mis-shaped. Values taken before `finish`
 * are only valid once it has returned.
 */
export class WeightReader {
  private readonly consumed = new Set<string>();
  private readonly missing: { name: string; shape: number[] }[] = [];
  private readonly misshaped: MisshapedTensor[] = [];
  private largestSize?: number;

  constructor(
    private readonly source: WeightSource,
    private readonly architecture: string,
  ) {}

  has(name: string): boolean {
    return this.source.names().includes(name);
  }

  /** The tensor `name`, which must have `shape`; its shape is checked before its data is read. */
  take(name: string, shape: readonly number[]): HostTensor {
    this.consumed.add(name);
    const read = this.source.shape ? undefined : this.source.get(name);
    const got = read ? read.shape : shapeOf(this.source, name);
    const expected = [...shape];
    if (!got) {
      this.missing.push({ name, shape: expected });
      return this.placeholder(expected);
    }
    if (got.length !== shape.length || got.some((d, i) => d !== shape[i])) {
      this.misshaped.push({ name, expected, got });
      return this.placeholder(expected);
    }
    return read ?? this.source.get(name)!;
  }

  /** Consumes, without reading, tensors that are buffers rather than parameters (causal masks, inv_freq). */
  skip(pattern: RegExp): void {
    for (const name of this.source.names()) if (pattern.test(name)) this.consumed.add(name);
  }

  finish(): void {
    const unexpected = this.source
      .names()
      .filter((n) => !this.consumed.has(n))
      .map((name) => ({ name, shape: shapeOf(this.source, name) ?? [] }));
    if (this.missing.length + unexpected.length + this.misshaped.length > 0) throw this.error(unexpected);
  }

  private error(unexpected: { name: string; shape: number[] }[]): WeightMapError {
    return new WeightMapError(this.architecture, this.missing, unexpected, this.misshaped, this.source.label);
  }

  /**
   * Zeros standing in for a missing or mis-shaped tensor, so the map runs on to list every problem. One
   * larger than every tensor of the checkpoint means the config's dimensions cannot be right: the map
   * stops there with what it found, rather than allocate it.
   */
  private placeholder(shape: number[]): HostTensor {
    const size = numel(shape);
    this.largestSize ??= this.source
      .names()
      .reduce((most, n) => Math.max(most, numel(shapeOf(this.source, n) ?? [])), 0);
    if (size > this.largestSize) throw this.error([]);
    return { shape, data: new Float32Array(size) };
  }
}

/** A [rows, cols] matrix transposed to [cols, rows]: PyTorch's Linear [out,in] → our [in,out]. */
export function transposed(t: HostTensor): HostTensor {
  const [rows, cols] = t.shape as [number, number];
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const row = t.data.subarray(r * cols, (r + 1) * cols);
    for (let c = 0; c < cols; c++) out[c * rows + r] = row[c] as number;
  }
  return { shape: [cols, rows], data: out };
}

/** [in, out_i] matrices (or [out_i] biases) side by side along the last axis → [in, Σ out_i]. */
export function concatColumns(parts: readonly HostTensor[]): HostTensor {
  const rows = parts[0]!.shape.length === 1 ? 1 : (parts[0]!.shape[0] as number);
  const widths = parts.map((p) => p.shape[p.shape.length - 1] as number);
  const width = widths.reduce((a, b) => a + b, 0);
  const out = new Float32Array(rows * width);
  let offset = 0;
  parts.forEach((p, i) => {
    const w = widths[i] as number;
    for (let r = 0; r < rows; r++) out.set(p.data.subarray(r * w, (r + 1) * w), r * width + offset);
    offset += w;
  });
  return { shape: parts[0]!.shape.length === 1 ? [width] : [rows, width], data: out };
}

/** A host tensor as a float32 graph constant (an ONNX initializer). */
export const param = (t: HostTensor): Node => constant(t.data, t.shape);
