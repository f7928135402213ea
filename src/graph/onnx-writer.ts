import onnxProto, { type onnx as proto } from 'onnx-proto';
import { hostArray, onnxDType, type DType, type HostData } from './dtype.ts';
import type { LowerContext, OnnxAttr } from './lower-context.ts';
import { topologicalOrder, type Node } from './node.ts';
import { GraphError } from './primitive.ts';
import { isSymbolic, type Dim, type Shape } from './shape.ts';

const { onnx } = onnxProto;

/** The one ONNX opset every graph is written at. */
export const OPSET = 18;
const IR_VERSION = 8;
/** Initializers are moved to external data when the model would pass protobuf's 2 GB limit. */
const PROTOBUF_LIMIT = 2 ** 31 - 2 ** 24;

export interface OnnxModel {
  /** The serialized ModelProto. */
  model: Uint8Array;
  /** Initializer bytes referenced from the model as external data, when the weights passed the protobuf limit. */
  externalData?: { path: string; data: Uint8Array };
  inputNames: string[];
  outputNames: string[];
  /**
   * Constants written as graph inputs instead of initializers (see WriteOptions.bindConstantsAbove): a
   * runtime feeds them, by reference, at every run.
   */
  bound: { name: string; dtype: DType; shape: number[]; data: HostData }[];
}

export interface WriteOptions {
  /** Force initializers larger than this many bytes into external data (default: only past 2 GB). */
  externalDataThreshold?: number;
  externalDataPath?: string;
  /**
   * Write constants larger than this many bytes as graph inputs (listed in `bound`) rather than copying them
   * into the model: the weights then stay in their host arrays, shared by every program that uses them.
   */
  bindConstantsAbove?: number;
}

function attribute(name: string, value: OnnxAttr): proto.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if ('int' in value) return { name, type: T.INT, i: value.int };
  if ('float' in value) return { name, type: T.FLOAT, f: value.float };
  if ('ints' in value) return { name, type: T.INTS, ints: [...value.ints] };
  if ('floats' in value) return { name, type: T.FLOATS, floats: [...value.floats] };
  return { name, type: T.STRING, s: new TextEncoder().encode(value.string) };
}

const bytesOf = (data: HostData): Uint8Array => new Uint8Array(data.buffer, data.byteOffset, data.byteLength);

function valueInfo(name: string, dtype: DType, shape: Shape): proto.IValueInfoProto {
  const dim = shape.map((d) => (isSymbolic(d) ? { dimParam: d } : { dimValue: d }));
  return { name, type: { tensorType: { elemType: onnxDType[dtype], shape: { dim } } } };
}

/** Lowers the graph computing `outputs` to an ONNX ModelProto at opset {@link OPSET}. */
export function writeOnnx(outputs: Readonly<Record<string, Node>>, options: WriteOptions = {}): OnnxModel {
  const order = topologicalOrder(Object.values(outputs));
  const nodes: proto.INodeProto[] = [];
  const inputs: proto.IValueInfoProto[] = [];
  const initializers: { proto: proto.ITensorProto; bytes: Uint8Array }[] = [];
  const bound: OnnxModel['bound'] = [];
  const bindAbove = options.bindConstantsAbove ?? Infinity;
  const symbolSources = new Map<string, { input: string; axis: number }>();
  const dimCache = new Map<Dim, string>();
  const names = new Map<number, string>();
  let fresh = 0;

  const ctx: LowerContext = {
    name: (node) => {
      const name = names.get(node.id);
      if (name === undefined)
        throw new GraphError(`node %${node.id} (${node.op}) used before it was lowered`);
      return name;
    },
    fresh: (hint) => `${hint}_${fresh++}`,
    emit: (opType, nodeInputs, nodeOutputs, attrs = {}) => {
      nodes.push({
        opType,
        input: [...nodeInputs],
        output: [...nodeOutputs],
        name: `${opType}_${nodes.length}`,
        attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
      });
    },
    int64s: (values) =>
      addInitializer(
        BigInt64Array.from(values, (v) => BigInt(v)),
        'int64',
        [values.length],
      ),
    scalar: (value, dtype) => addInitializer(hostArray(dtype, [value]), dtype, []),
    shapeTensor: (shape) => {
      if (shape.every((d) => !isSymbolic(d))) return ctx.int64s(shape as number[]);
      const parts = shape.map((d) => (isSymbolic(d) ? dimTensor(d) : ctx.int64s([d])));
      const out = ctx.fresh('shape');
      ctx.emit('Concat', parts, [out], { axis: { int: 0 } });
      return out;
    },
    graphInput: (node, name) => {
      inputs.push(valueInfo(name, node.dtype, node.shape));
      node.shape.forEach((d, axis) => {
        if (isSymbolic(d) && !symbolSources.has(d)) symbolSources.set(d, { input: name, axis });
      });
    },
    initializer: (node, data) => {
      if (data.byteLength > bindAbove) {
        const name = `const_${node.id}`;
        const shape = node.shape as number[];
        inputs.push(valueInfo(name, node.dtype, shape));
        bound.push({ name, dtype: node.dtype, shape, data });
        names.set(node.id, name);
        return;
      }
      names.set(node.id, addInitializer(data, node.dtype, node.shape as number[]));
    },
  };

  function addInitializer(data: HostData, dtype: DType, dims: readonly number[]): string {
    const name = `init_${initializers.length}`;
    const bytes = bytesOf(data);
    initializers.push({ proto: { name, dataType: onnxDType[dtype], dims: [...dims] }, bytes });
    return name;
  }

  /** A 1-element int64 tensor with the run-time size of a symbolic dim ("B", "B*T", "4*B"). */
  function dimTensor(dim: string): string {
    const cached = dimCache.get(dim);
    if (cached) return cached;
    const factors = dim.split('*').map((factor) => {
      if (/^\d+$/.test(factor)) return ctx.int64s([Number(factor)]);
      const source = symbolSources.get(factor);
      if (!source)
        throw new GraphError(
          `symbolic dim "${factor}" (in "${dim}") does not appear in the shape of any graph input`,
        );
      const out = ctx.fresh(`dim_${factor}`);
      ctx.emit('Shape', [source.input], [out], {
        start: { int: source.axis },
        end: { int: source.axis + 1 },
      });
      return out;
    });
    let result = factors[0] as string;
    for (const factor of factors.slice(1)) {
      const out = ctx.fresh('dim');
      ctx.emit('Mul', [result, factor], [out]);
      result = out;
    }
    dimCache.set(dim, result);
    return result;
  }

  // Inputs first so that every symbolic dim has a source before any lowering needs it.
  const inputNodes = order.filter((n) => n.op === 'Input');
  const seenInputs = new Set<string>();
  for (const node of inputNodes) {
    const name = node.attrs.name as string;
    if (seenInputs.has(name)) throw new GraphError(`two graph inputs are named "${name}"`);
    seenInputs.add(name);
    names.set(node.id, name);
    node.primitive.lower(node, ctx);
  }
  // A computed value that is an output is written under its output name, so that no copy makes it one.
  const outputName = new Map<number, string>();
  for (const [name, node] of Object.entries(outputs))
    if (node.op !== 'Input' && node.op !== 'Constant' && !outputName.has(node.id) && !seenInputs.has(name))
      outputName.set(node.id, name);
  // Every value's shape goes into the model too, symbolic dims as dim_params: ONNX Runtime cannot always infer
  // them through reshapes to computed shapes, and without them it cannot reuse buffers in place.
  const valueInfos: proto.IValueInfoProto[] = [];
  for (const node of order) {
    if (node.op === 'Input') continue;
    if (node.op !== 'Constant') {
      const name = outputName.get(node.id) ?? `v${node.id}`;
      names.set(node.id, name);
      if (!outputName.has(node.id)) valueInfos.push(valueInfo(name, node.dtype, node.shape));
    }
    node.primitive.lower(node, ctx);
  }

  const outputInfos = Object.entries(outputs).map(([name, node]) => {
    if (ctx.name(node) !== name)
      nodes.push({ opType: 'Identity', input: [ctx.name(node)], output: [name], name: `output_${name}` });
    return valueInfo(name, node.dtype, node.shape);
  });

  const total = initializers.reduce((s, i) => s + i.bytes.byteLength, 0);
  const threshold = options.externalDataThreshold ?? (total > PROTOBUF_LIMIT ? 1024 : Infinity);
  const external: Uint8Array[] = [];
  let offset = 0;
  const externalPath = options.externalDataPath ?? 'weights.bin';
  const initializerProtos = initializers.map(({ proto, bytes }) => {
    if (bytes.byteLength <= threshold) return { ...proto, rawData: bytes };
    const entry = (key: string, value: string | number) => ({ key, value: String(value) });
    external.push(bytes);
    const location = [
      entry('location', externalPath),
      entry('offset', offset),
      entry('length', bytes.byteLength),
    ];
    offset += bytes.byteLength;
    return { ...proto, dataLocation: onnx.TensorProto.DataLocation.EXTERNAL, externalData: location };
  });

  const model = onnx.ModelProto.encode({
    irVersion: IR_VERSION,
    producerName: 'reverie',
    opsetImport: [{ domain: '', version: OPSET }],
    graph: {
      name: 'reverie',
      node: nodes,
      input: inputs,
      output: outputInfos,
      initializer: initializerProtos,
      valueInfo: valueInfos,
    },
  }).finish();

  return {
    model,
    ...(external.length > 0
      ? { externalData: { path: externalPath, data: concatBytes(external, offset) } }
      : {}),
    inputNames: inputNodes.map((n) => n.attrs.name as string),
    outputNames: Object.keys(outputs),
    bound,
  };
}

function concatBytes(parts: readonly Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}
