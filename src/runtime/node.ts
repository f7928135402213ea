import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { writeOnnx } from '../graph/index.ts';
import { wrapSession, type TensorConstructor } from './ort-session.ts';
import type { CompileOptions, Runtime, Session } from './types.ts';

// ONNX Runtime 1.30's telemetry (1DS, onnxruntime/core/platform/posix/telemetry.cc) writes
// /tmp/mat-debug-<pid>.log, /tmp/.ses and ~/.cache/Microsoft/DeveloperTools/.onnxruntime/, and tries to reach
// mobile.events.data.microsoft.com, unless ORT_DISABLE_TELEMETRY is set when the first session creates its
// environment. A value the user set wins.
process.env.ORT_DISABLE_TELEMETRY ??= '1';

/** Constants past this size are shared by reference under `shareWeights`. */
const SHARED_WEIGHT_BYTES = 64 * 1024;

/** ONNX Runtime for Node: CPU, or CUDA where an onnxruntime-node build with CUDA is installed. */
export const nodeRuntime: Runtime = {
  async compile(options: CompileOptions): Promise<Session> {
    const written = writeOnnx(options.outputs, {
      ...(options.externalDataThreshold === undefined
        ? {}
        : { externalDataThreshold: options.externalDataThreshold }),
      ...(options.shareWeights ? { bindConstantsAbove: SHARED_WEIGHT_BYTES } : {}),
    });
    const sessionOptions: ort.InferenceSession.SessionOptions = {
      executionProviders: [options.provider ?? 'cpu'],
      intraOpNumThreads: options.threads ?? availableParallelism(),
      interOpNumThreads: 1,
      graphOptimizationLevel: options.optimization ?? 'all',
      ...(options.memoryArena === false ? { enableCpuMemArena: false } : {}),
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
    return wrapSession(inner, ort.Tensor as unknown as TensorConstructor, written);
  },
};
