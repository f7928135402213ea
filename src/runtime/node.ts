import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { writeOnnx, type DType } from '../graph/index.ts';
import type { CompileOptions, HostTensor, Runtime, Session } from './types.ts';

const ortTypes: Record<DType, ort.Tensor.Type> = {
  float32: 'float32',
  float64: 'float64',
  int64: 'int64',
  int32: 'int32',
  bool: 'bool',
};

export class RuntimeError extends Error {
  override name = 'RuntimeError';
}

function toOrt(name: string, t: HostTensor): ort.Tensor {
  const size = t.shape.reduce((p, q) => p * q, 1);
  if (t.data.length !== size)
    throw new RuntimeError(`input "${name}": shape [${t.shape}] needs ${size} values, got ${t.data.length}`);
  return new ort.Tensor(ortTypes[t.dtype], t.data as never, t.shape);
}

function fromOrt(t: ort.Tensor): HostTensor {
  const dtype = (Object.keys(ortTypes) as DType[]).find((k) => ortTypes[k] === t.type);
  if (!dtype) throw new RuntimeError(`unsupported output type ${t.type}`);
  return { dtype, shape: [...t.dims], data: t.data as HostTensor['data'] };
}

/** ONNX Runtime for Node: CPU, or CUDA where an onnxruntime-node build with CUDA is installed. */
export const nodeRuntime: Runtime = {
  async compile(options: CompileOptions): Promise<Session> {
    const written = writeOnnx(
      options.outputs,
      options.externalDataThreshold === undefined
        ? {}
        : { externalDataThreshold: options.externalDataThreshold },
    );
    const sessionOptions: ort.InferenceSession.SessionOptions = {
      executionProviders: [options.provider ?? 'cpu'],
      intraOpNumThreads: options.threads ?? availableParallelism(),
      interOpNumThreads: 1,
      graphOptimizationLevel: options.optimization ?? 'all',
      ...(options.profilePrefix ? { enableProfiling: true, profileFilePrefix: options.profilePrefix } : {}),
    };
    let inner: ort.InferenceSession;
    if (written.externalData) {
      // Past the protobuf limit the weights go beside the model file, where ONNX Runtime reads them.
      const dir = mkdtempSync(join(tmpdir(), 'reverie-'));
      try {
        writeFileSync(join(dir, 'model.onnx'), written.model);
        writeFileSync(join(dir, written.externalData.path), written.externalData.data);
        inner = await ort.InferenceSession.create(join(dir, 'model.onnx'), sessionOptions);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    } else {
      inner = await ort.InferenceSession.create(written.model, sessionOptions);
    }
    return {
      inputNames: written.inputNames,
      outputNames: written.outputNames,
      async run(feeds) {
        const missing = written.inputNames.filter((n) => !(n in feeds));
        if (missing.length > 0)
          throw new RuntimeError(
            `missing inputs ${missing.join(', ')}; the graph takes ${written.inputNames.join(', ')}`,
          );
        const ortFeeds: Record<string, ort.Tensor> = {};
        for (const name of written.inputNames) ortFeeds[name] = toOrt(name, feeds[name] as HostTensor);
        const results = await inner.run(ortFeeds);
        const out: Record<string, HostTensor> = {};
        for (const name of written.outputNames) out[name] = fromOrt(results[name] as ort.Tensor);
        return out;
      },
      dispose: () => inner.release(),
    };
  },
};
