import * as ort from 'onnxruntime-web';
import { writeOnnx } from '../graph/index.ts';
import { RuntimeError, wrapSession, type TensorConstructor } from './ort-session.ts';
import type { CompileOptions, Runtime, Session } from './types.ts';

/**
 * ONNX Runtime Web: WebAssembly (in browsers and in Node), or WebGPU in browsers that have it. External
 * data is handed over in memory. Its thread count is global to the package (`ort.env.wasm.numThreads`), set
 * by the first compile; the profiler options of the Node runtime do not apply.
 */
export const webRuntime: Runtime = {
  async compile(options: CompileOptions): Promise<Session> {
    const provider = options.provider ?? 'wasm';
    if (provider !== 'wasm' && provider !== 'webgpu')
      throw new RuntimeError(`onnxruntime-web runs on wasm or webgpu, not ${provider}`);
    if (options.threads !== undefined) ort.env.wasm.numThreads = options.threads;
    const written = writeOnnx(
      options.outputs,
      options.externalDataThreshold === undefined
        ? {}
        : { externalDataThreshold: options.externalDataThreshold },
    );
    const inner = await ort.InferenceSession.create(written.model, {
      executionProviders: [provider],
      graphOptimizationLevel: options.optimization ?? 'all',
      ...(written.externalData ? { externalData: [written.externalData] } : {}),
    });
    return wrapSession(inner, ort.Tensor as unknown as TensorConstructor, written);
  },
};
