import type { InferenceSession, Tensor, TypedTensor } from 'onnxruntime-common';
import type { DType, OnnxModel } from '../graph/index.ts';
import type { HostTensor, Session } from './types.ts';

export class RuntimeError extends Error {
  override name = 'RuntimeError';
}

const ortTypes: Record<DType, Tensor.Type> = {
  float32: 'float32',
  float64: 'float64',
  int64: 'int64',
  int32: 'int32',
  bool: 'bool',
};

/** The Tensor constructor of an ONNX Runtime package (node and web share onnxruntime-common's API). */
export type TensorConstructor = new (
  type: Tensor.Type,
  data: HostTensor['data'],
  dims: readonly number[],
) => Tensor;

function toOrt(Ctor: TensorConstructor, name: string, t: HostTensor): Tensor {
  const size = t.shape.reduce((p, q) => p * q, 1);
  if (t.data.length !== size)
    throw new RuntimeError(`input "${name}": shape [${t.shape}] needs ${size} values, got ${t.data.length}`);
  return new Ctor(ortTypes[t.dtype], t.data, t.shape);
}

function fromOrt(t: Tensor): HostTensor {
  const dtype = (Object.keys(ortTypes) as DType[]).find((k) => ortTypes[k] === t.type);
  if (!dtype) throw new RuntimeError(`unsupported output type ${t.type}`);
  return { dtype, shape: [...t.dims], data: (t as TypedTensor<'float32'>).data };
}

/** Our Session over an ONNX Runtime InferenceSession of the model `written`. */
export function wrapSession(inner: InferenceSession, Ctor: TensorConstructor, written: OnnxModel): Session {
  // Bound constants wrap their host arrays (no copy) and go with every run.
  const bound: Record<string, Tensor> = {};
  for (const b of written.bound) bound[b.name] = new Ctor(ortTypes[b.dtype], b.data, b.shape);
  return {
    inputNames: written.inputNames,
    outputNames: written.outputNames,
    async run(feeds) {
      const missing = written.inputNames.filter((n) => !(n in feeds));
      if (missing.length > 0)
        throw new RuntimeError(
          `missing inputs ${missing.join(', ')}; the graph takes ${written.inputNames.join(', ')}`,
        );
      const ortFeeds: Record<string, Tensor> = { ...bound };
      for (const name of written.inputNames) ortFeeds[name] = toOrt(Ctor, name, feeds[name] as HostTensor);
      const results = await inner.run(ortFeeds);
      const out: Record<string, HostTensor> = {};
      for (const name of written.outputNames) out[name] = fromOrt(results[name] as Tensor);
      return out;
    },
    dispose: () => inner.release(),
  };
}
