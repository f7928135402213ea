import onnxProto, { type onnx as proto } from 'onnx-proto';
import { describe, expect, it } from 'vitest';
import {
  GraphError,
  OPSET,
  add,
  constant,
  expand,
  input,
  matmul,
  reshape,
  scalar,
  tanh,
  writeOnnx,
  type Node,
} from '../../src/graph/index.ts';
import { compile, type HostTensor } from '../../src/runtime/index.ts';
import { values } from '../helpers/gradcheck.ts';

const { onnx } = onnxProto;

/** y = tanh(x·W + b) over a symbolic batch, with W [3,4] and b [4] as weights. */
function layer(): { x: Node; y: Node } {
  const x = input('x', 'float32', ['B', 3]);
  const w = constant(
    Float32Array.from({ length: 12 }, (_, i) => (i - 6) / 10),
    [3, 4],
  );
  const b = constant([0.1, -0.2, 0.3, 0], [4]);
  return { x, y: tanh(add(matmul(x, w), b)) };
}

const feed = (batch: number): Record<string, HostTensor> => ({
  x: {
    dtype: 'float32',
    shape: [batch, 3],
    data: Float32Array.from({ length: batch * 3 }, (_, i) => Math.sin(i)),
  },
});

/** The reference: the same layer in plain TypeScript. */
function reference(batch: number): number[] {
  const x = feed(batch)['x']!.data as Float32Array;
  const out: number[] = [];
  const b = [0.1, -0.2, 0.3, 0];
  for (let r = 0; r < batch; r++)
    for (let j = 0; j < 4; j++) {
      let s = Math.fround(b[j]!);
      for (let k = 0; k < 3; k++) s += x[r * 3 + k]! * Math.fround((k * 4 + j - 6) / 10);
      out.push(Math.tanh(s));
    }
  return out;
}

const dims = (info: proto.IValueInfoProto | undefined) =>
  (info?.type?.tensorType?.shape?.dim ?? []).map((d) => d.dimParam || Number(d.dimValue));

describe('the ONNX writer', () => {
  it('writes a ModelProto at the pinned opset with weights as initializers and symbolic dims as dim_param', () => {
    const { y } = layer();
    const written = writeOnnx({ y });
    expect(written.externalData).toBeUndefined();
    expect(written.inputNames).toEqual(['x']);
    expect(written.outputNames).toEqual(['y']);
    const model = onnx.ModelProto.decode(written.model);
    expect(model.opsetImport.map((o) => [o.domain, Number(o.version)])).toEqual([['', OPSET]]);
    const graph = model.graph as proto.GraphProto;
    expect(graph.input.map((i) => i.name)).toEqual(['x']);
    expect(dims(graph.input[0])).toEqual(['B', 3]);
    expect(graph.input[0]?.type?.tensorType?.shape?.dim?.[0]?.dimValue).toBeFalsy();
    expect(dims(graph.output[0])).toEqual(['B', 4]);
    const weights = (graph.initializer as proto.TensorProto[]).filter(
      (t) => t.dims.length > 0 && Number(t.dims[0]) > 1,
    );
    expect(weights.map((t) => t.dims.map(Number))).toEqual([[3, 4], [4]]);
    for (const t of weights) {
      expect(t.dataType).toBe(onnx.TensorProto.DataType.FLOAT);
      expect(t.rawData.byteLength).toBe(4 * t.dims.map(Number).reduce((p, q) => p * q, 1));
    }
  });

  it('is a model ONNX Runtime runs at any batch size', async () => {
    const { y } = layer();
    const session = await compile({ outputs: { y }, threads: 1 });
    try {
      for (const batch of [1, 5]) {
        const out = (await session.run(feed(batch)))['y']!;
        expect(out.shape).toEqual([batch, 4]);
        const expected = reference(batch);
        values(out).forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 5));
      }
    } finally {
      await session.dispose();
    }
  });

  it('resolves merged symbolic dims at run time', async () => {
    const x = input('x', 'float32', ['B', 'T', 2]);
    const flat = reshape(x, [-1, 2]);
    expect(flat.shape).toEqual(['B*T', 2]);
    const session = await compile({ outputs: { flat }, threads: 1 });
    try {
      const out = await session.run({
        x: { dtype: 'float32', shape: [2, 3, 2], data: new Float32Array(12) },
      });
      expect(out['flat']!.shape).toEqual([6, 2]);
    } finally {
      await session.dispose();
    }
  });

  it('moves initializers to external data on request, and the runtime loads them', async () => {
    const { y } = layer();
    const written = writeOnnx({ y }, { externalDataThreshold: 0, externalDataPath: 'layer.bin' });
    const model = onnx.ModelProto.decode(written.model);
    const initializers = (model.graph as proto.GraphProto).initializer as proto.TensorProto[];
    expect(initializers.length).toBeGreaterThan(0);
    let end = 0;
    for (const t of initializers) {
      expect(t.dataLocation).toBe(onnx.TensorProto.DataLocation.EXTERNAL);
      expect(t.rawData.byteLength).toBe(0);
      const entry = Object.fromEntries(t.externalData.map((e) => [e.key, e.value]));
      expect(entry['location']).toBe('layer.bin');
      expect(Number(entry['offset'])).toBe(end);
      end += Number(entry['length']);
    }
    expect(written.externalData?.path).toBe('layer.bin');
    expect(written.externalData?.data.byteLength).toBe(end);

    const inMemory = await compile({ outputs: { y }, threads: 1 });
    const external = await compile({ outputs: { y }, threads: 1, externalDataThreshold: 0 });
    try {
      const a = (await inMemory.run(feed(3)))['y']!;
      const b = (await external.run(feed(3)))['y']!;
      expect(b.shape).toEqual([3, 4]);
      expect(Array.from(values(b))).toEqual(Array.from(values(a)));
    } finally {
      await inMemory.dispose();
      await external.dispose();
    }
  });

  it('names two inputs with one name, and a symbolic dim no input carries', () => {
    const twice = add(input('x', 'float32', [2]), input('x', 'float32', [2]));
    expect(() => writeOnnx({ twice })).toThrow(GraphError);
    expect(() => writeOnnx({ twice })).toThrow(/two graph inputs are named "x"/);
    const orphan = add(input('x', 'float32', ['B', 2]), expand(scalar(1), ['T', 1, 1]));
    expect(() => writeOnnx({ orphan })).toThrow(
      /symbolic dim "T" \(in "T"\) does not appear in the shape of any graph input/,
    );
  });
});
