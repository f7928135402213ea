import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { grad, input, mul, reduceSum, slice, squeeze, sub } from '../../src/graph/index.ts';
import { loadModel } from '../../src/models/index.ts';
import { nextTokenXent } from '../../src/nn/index.ts';
import { compile } from '../../src/runtime/index.ts';

interface Reference {
  seq_len: number;
  target: { layer: number; neuron: number; position: 'last' };
  x_penalty: number;
  sequences: {
    ids: number[];
    logits: number[][];
    xentropy: number;
    mlp_post_layer1_last: number[];
    grad_top5_ids: number[][];
  }[];
  grad_seq0: number[][];
}

const fixtures = ['llama-tiny-random', 'gpt-neox-tiny-random', 'gpt2-tiny-random', 'stories260K-hf'];
const V = 512;

/** The `k` ids with the largest values, ties to the smaller id (the reference's rule). */
const topIds = (row: ArrayLike<number>, k: number): number[] =>
  Array.from(row, (v, id) => [v, id] as const)
    .sort((a, b) => b[0] - a[0] || a[1] - b[1])
    .slice(0, k)
    .map(([, id]) => id);

describe.each(fixtures)('the %s fixture', (fixture) => {
  const dir = `../shared/fixtures/${fixture}`;
  const ref = JSON.parse(readFileSync(`${dir}/reference.json`, 'utf8')) as Reference;
  const B = ref.sequences.length;
  const T = ref.seq_len;
  let out: Record<string, Float32Array>;
  let I: number;

  beforeAll(async () => {
    const model = await loadModel(dir);
    const hook = `blocks.${ref.target.layer}.mlp.hook_post`;
    // From ids: logits only.
    const ids = input('ids', 'int64', ['B', T]);
    const fromIds = model.build({ tokens: ids }).logits!;
    // From a one-hot matrix feeding both the embedding and the cross-entropy labels, as EPO does:
    // L = hook_post[layer, last position, neuron] − x_penalty·xent, summed over the batch.
    const onehot = input('onehot', 'float32', ['B', T, V]);
    const { logits, hooks } = model.build({ tokens: onehot, hooks: [hook] });
    const post = hooks[hook]!; // [B,T,I]
    I = post.shape[2] as number;
    const n = ref.target.neuron;
    const target = squeeze(slice(post, [1, 2], [T - 1, n], [T, n + 1]), [1, 2]); // [B]
    const xent = nextTokenXent(logits!, onehot); // [B]
    const loss = reduceSum(sub(target, mul(xent, ref.x_penalty)), [0]);
    const [gradient] = grad(loss, [onehot]);
    const session = await compile({
      outputs: { fromIds, logits: logits!, xent, post, gradient: gradient! },
      threads: 1,
    });
    const flat = ref.sequences.flatMap((s) => s.ids);
    const hot = new Float32Array(B * T * V);
    flat.forEach((id, i) => (hot[i * V + id] = 1));
    const result = await session.run({
      ids: { dtype: 'int64', shape: [B, T], data: BigInt64Array.from(flat, BigInt) },
      onehot: { dtype: 'float32', shape: [B, T, V], data: hot },
    });
    await session.dispose();
    out = Object.fromEntries(Object.entries(result).map(([k, v]) => [k, v.data as Float32Array]));
  });

  it('computes the reference logits of every sequence from token ids to 1e-4', () => {
    let worst = 0;
    ref.sequences.forEach((s, b) =>
      s.logits.forEach((row, t) =>
        row.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - out.fromIds![(b * T + t) * V + i]!)))),
      ),
    );
    expect(worst).toBeLessThan(1e-4);
  });

  it('computes the same logits from a one-hot matrix as from ids', () => {
    let worst = 0;
    out.fromIds!.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - out.logits![i]!))));
    // float32 rounding only: ONNX Runtime fuses the kernels of the two graphs (norms, GELU) differently.
    expect(worst).toBeLessThan(3e-5);
  });

  it('computes the mean next-token cross-entropy of every sequence', () => {
    ref.sequences.forEach((s, b) => expect(out.xent![b]).toBeCloseTo(s.xentropy, 5));
  });

  it('computes blocks.1.mlp.hook_post at the last position', () => {
    ref.sequences.forEach((s, b) => {
      const got = out.post!.subarray((b * T + T - 1) * I, (b * T + T) * I);
      expect(got.length).toBe(s.mlp_post_layer1_last.length);
      s.mlp_post_layer1_last.forEach((v, i) => expect(Math.abs(v - got[i]!)).toBeLessThan(1e-5));
    });
  });

  it('gives the one-hot gradient of L = hook_post − 0.5·xent: its top-5 ids at every position', () => {
    ref.sequences.forEach((s, b) =>
      s.grad_top5_ids.forEach((top, t) =>
        expect(
          topIds(out.gradient!.subarray((b * T + t) * V, (b * T + t + 1) * V), 5),
          `seq ${b} pos ${t}`,
        ).toEqual(top),
      ),
    );
  });

  it('gives the full one-hot gradient of sequence 0', () => {
    let worst = 0;
    ref.grad_seq0.forEach((row, t) =>
      row.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - out.gradient![t * V + i]!)))),
    );
    expect(worst).toBeLessThan(1e-5);
  });
});
