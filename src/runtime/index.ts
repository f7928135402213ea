/** The only layer that talks to ONNX Runtime. */
export { nodeRuntime } from './node.ts';
export { RuntimeError } from './ort-session.ts';
export type { CompileOptions, HostTensor, Provider, Runtime, Session } from './types.ts';
import type { CompileOptions, Session } from './types.ts';
import { nodeRuntime } from './node.ts';

/** Compiles named graph outputs into a session on the Node runtime. */
export const compile = (options: CompileOptions): Promise<Session> => nodeRuntime.compile(options);
