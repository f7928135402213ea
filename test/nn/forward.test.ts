import { describe, expect, it } from 'vitest';
import { constant, input, type Node } from '../../src/graph/index.ts';
import {
  applyRotary,
  attention,
  gelu,
  geluTanh,
  layerNorm,
  nextTokenXent,
  nextTokenXentFromIds,
  rmsNorm,
  rotaryTable,
  silu,
} from '../../src/nn/index.ts';
import { compile } from '../../src/runtime/index.ts';

/** Deterministic test values in [−2, 2]. */
const values = (n: number, seed: number): number[] =>
  Array.from({ length: n }, (_, i) => 2 * Math.sin(seed * 12.9898 + i * 78.233));

/**
 * Runs the graph at ONNX Runtime's basic optimization level: its fusions (e.g. QuickGelu for x·σ(x)) have
 * float32 kernels only, and these checks run in float64.
 */
async function run(out: Node, x: Node, data: number[]): Promise<number[]> {
  const session = await compile({ outputs: { out }, threads: 1, optimization: 'basic' });
  const feed = x.dtype === 'float64' ? Float64Array.from(data) : Float32Array.from(data);
  const result = await session.run({
    [x.attrs.name as string]: { dtype: x.dtype, shape: x.shape as number[], data: feed },
  });
  await session.dispose();
  return Array.from(result.out!.data as Float64Array | Float32Array);
}

function expectClose(actual: number[], expected: number[], tol = 1e-12): void {
  expect(actual.length).toBe(expected.length);
  const worst = Math.max(...actual.map((a, i) => Math.abs(a - (expected[i] as number))));
  expect(worst).toBeLessThan(tol);
}

/** Rows of length `width` of a flat array. */
const rows = (xs: number[], width: number): number[][] =>
  Array.from({ length: xs.length / width }, (_, r) => xs.slice(r * width, (r + 1) * width));

// Abramowitz & Stegun 7.1.26 is not precise enough; erf by its Maclaurin series (|x| ≤ 3 here).
function erf(x: number): number {
  let sum = 0;
  let term = x;
  for (let n = 0; n < 80; n++) {
    sum += term / (2 * n + 1);
    term *= (-x * x) / (n + 1);
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}

describe('normalization layers', () => {
  const data = values(12, 1);
  const w = values(4, 2);
  const b = values(4, 3);
  const x = input('x', 'float64', [3, 4]);

  it('layerNorm matches (x − mean)/√(var + ε)·w + b per row', async () => {
    const out = layerNorm(x, constant(w, [4], 'float64'), constant(b, [4], 'float64'), 1e-5);
    const expected = rows(data, 4).flatMap((r) => {
      const mean = r.reduce((s, v) => s + v, 0) / 4;
      const variance = r.reduce((s, v) => s + (v - mean) ** 2, 0) / 4;
      return r.map((v, i) => ((v - mean) / Math.sqrt(variance + 1e-5)) * w[i]! + b[i]!);
    });
    expectClose(await run(out, x, data), expected);
  });

  it('rmsNorm matches x/√(mean(x²) + ε)·w per row', async () => {
    const out = rmsNorm(x, constant(w, [4], 'float64'), 1e-6);
    const expected = rows(data, 4).flatMap((r) => {
      const ms = r.reduce((s, v) => s + v * v, 0) / 4;
      return r.map((v, i) => (v / Math.sqrt(ms + 1e-6)) * w[i]!);
    });
    expectClose(await run(out, x, data), expected);
  });
});

describe('activations', () => {
  const data = values(16, 4).map((v) => 1.4 * v);
  const x = input('x', 'float64', [16]);

  it('gelu is x·Φ(x) (float32: ONNX Runtime has no float64 Erf)', async () => {
    const x32 = input('x', 'float32', [16]);
    expectClose(
      await run(gelu(x32), x32, data),
      data.map((v) => 0.5 * v * (1 + erf(v / Math.SQRT2))),
      1e-6,
    );
  });

  it('geluTanh is the tanh approximation', async () => {
    const f = (v: number) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)));
    expectClose(await run(geluTanh(x), x, data), data.map(f));
  });

  it('silu is x·σ(x)', async () => {
    expectClose(
      await run(silu(x), x, data),
      data.map((v) => v / (1 + Math.exp(-v))),
    );
  });
});

describe('rotary embeddings', () => {
  const [B, H, T, D] = [1, 2, 5, 8];
  const data = values(B * H * T * D, 5);
  const x = input('x', 'float64', [B, H, T, D]);
  const positions = constant([3, 4, 5, 6, 7], [T], 'int64');
  const angle = (p: number, i: number, d: number) => p / Math.pow(10000, (2 * i) / d);

  /** Direct rotation of feature pairs given by `pair(i) → [a, b]` for i < d/2. */
  function rotateRef(d: number, pair: (i: number) => [number, number]): number[] {
    const out = [...data];
    for (let h = 0; h < H; h++)
      for (let t = 0; t < T; t++) {
        const base = (h * T + t) * D;
        for (let i = 0; i < d / 2; i++) {
          const [ia, ib] = pair(i);
          const a = data[base + ia]!;
          const b = data[base + ib]!;
          const th = angle(t + 3, i, d);
          out[base + ia] = a * Math.cos(th) - b * Math.sin(th);
          out[base + ib] = b * Math.cos(th) + a * Math.sin(th);
        }
      }
    return out;
  }

  it('rotates interleaved pairs (2i, 2i+1) as llama2.c', async () => {
    const out = applyRotary(x, positions, rotaryTable(16, D, 10000, 'interleaved', { dtype: 'float64' }));
    expectClose(
      await run(out, x, data),
      rotateRef(D, (i) => [2 * i, 2 * i + 1]),
      1e-6,
    );
  });

  it('rotates halves (i, i + d/2) as Hugging Face', async () => {
    const out = applyRotary(x, positions, rotaryTable(16, D, 10000, 'rotate-half', { dtype: 'float64' }));
    expectClose(
      await run(out, x, data),
      rotateRef(D, (i) => [i, i + D / 2]),
      1e-6,
    );
  });

  it('rotates only the first rotaryDim features when rotary is partial, as GPT-NeoX', async () => {
    const out = applyRotary(
      x,
      positions,
      rotaryTable(16, D, 10000, 'rotate-half', { rotaryDim: 4, dtype: 'float64' }),
    );
    expectClose(
      await run(out, x, data),
      rotateRef(4, (i) => [i, i + 2]),
      1e-6,
    );
  });
});

describe('causal attention', () => {
  it('matches a direct computation with grouped kv heads (4 query heads, 2 kv heads)', async () => {
    const [H, KV, T, D] = [4, 2, 3, 4];
    const qData = values(H * T * D, 6);
    const kData = values(KV * T * D, 7);
    const vData = values(KV * T * D, 8);
    const q = input('q', 'float64', [1, H, T, D]);
    const pos = constant([0, 1, 2], [T], 'int64');
    const { out } = attention(
      q,
      constant(kData, [1, KV, T, D], 'float64'),
      constant(vData, [1, KV, T, D], 'float64'),
      pos,
      pos,
    );
    const expected: number[] = [];
    for (let h = 0; h < H; h++) {
      const kv = Math.floor(h / (H / KV));
      for (let t = 0; t < T; t++) {
        const scores = Array.from({ length: t + 1 }, (_, s) => {
          let dot = 0;
          for (let d = 0; d < D; d++) dot += qData[(h * T + t) * D + d]! * kData[(kv * T + s) * D + d]!;
          return dot / Math.sqrt(D);
        });
        const m = Math.max(...scores);
        const e = scores.map((s) => Math.exp(s - m));
        const z = e.reduce((a, b) => a + b, 0);
        for (let d = 0; d < D; d++)
          expected.push(e.reduce((acc, p, s) => acc + (p / z) * vData[(kv * T + s) * D + d]!, 0));
      }
    }
    expectClose(await run(out, q, qData), expected);
  });
});

describe('next-token cross-entropy', () => {
  it('is the mean over t ≥ 1 of −log softmax(logits[t−1])[token t], from a one-hot or from ids', async () => {
    const [T, V] = [4, 5];
    const logits = values(T * V, 9);
    const tokens = [1, 4, 0, 2];
    const onehot = tokens.flatMap((tok) => Array.from({ length: V }, (_, v) => (v === tok ? 1 : 0)));
    const x = input('logits', 'float64', [1, T, V]);
    const out = nextTokenXent(x, constant(onehot, [1, T, V], 'float64'));
    let total = 0;
    for (let t = 1; t < T; t++) {
      const row = logits.slice((t - 1) * V, t * V);
      const lse = Math.log(row.reduce((s, v) => s + Math.exp(v), 0));
      total += lse - row[tokens[t]!]!;
    }
    expectClose(await run(out, x, logits), [total / (T - 1)]);
    const fromIds = nextTokenXentFromIds(x, constant(tokens, [1, T], 'int64'));
    expectClose(await run(fromIds, x, logits), [total / (T - 1)]);
  });
});
