import type { DType, HostData, Node } from '../graph/index.ts';

/** A host tensor going into or coming out of a compiled graph. */
export interface HostTensor {
  dtype: DType;
  shape: number[];
  data: HostData;
}

export type Provider = 'cpu' | 'cuda' | 'wasm' | 'webgpu';

export interface CompileOptions {
  /** Named graph outputs to compute. */
  outputs: Readonly<Record<string, Node>>;
  /** Intra-op threads (default: all cores). */
  threads?: number;
  provider?: Provider;
  /** ONNX Runtime graph optimization level (default "all"). */
  optimization?: 'disabled' | 'basic' | 'extended' | 'all';
  /** Move initializers larger than this many bytes to external data (default: only past protobuf's 2 GB). */
  externalDataThreshold?: number;
  /**
   * Keep constants larger than 64 KiB (the weights) in their host arrays and hand them to ONNX Runtime by
   * reference at every run, instead of copying them into the session: every session built from the same
   * model then shares one copy of its weights. ONNX Runtime cannot pre-pack such weights for its GEMMs.
   */
  shareWeights?: boolean;
  /**
   * ONNX Runtime's CPU memory arena (default true): it keeps every buffer a run allocated for the next run,
   * which saves page faults, but grows in doubling regions and never shrinks. Off, buffers go back to the
   * system after each run.
   */
  memoryArena?: boolean;
  /** Write ONNX Runtime's JSON profile to this file prefix. */
  profilePrefix?: string;
}

/** A compiled graph, ready to run many times. */
export interface Session {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  run(feeds: Readonly<Record<string, HostTensor>>): Promise<Record<string, HostTensor>>;
  dispose(): Promise<void>;
}

/** One interface over onnxruntime-node and onnxruntime-web. */
export interface Runtime {
  compile(options: CompileOptions): Promise<Session>;
}
