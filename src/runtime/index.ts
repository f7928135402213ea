/**
 * The only layer that talks to ONNX Runtime. In Node the default runtime is onnxruntime-node; the browser
 * bundle (web/build.ts) replaces this module by its twin ./browser.ts, whose default is onnxruntime-web.
 */
import { availableParallelism } from 'node:os';
export { nodeRuntime } from './node.ts';
export { RuntimeError } from './ort-session.ts';
export type { CompileOptions, HostTensor, Provider, Runtime, Session } from './types.ts';
import type { CompileOptions, Runtime, Session } from './types.ts';
import { nodeRuntime } from './node.ts';

/** The runtime programs compile on unless told otherwise: onnxruntime-node here. */
export const defaultRuntime: Runtime = nodeRuntime;

/** Compiles named graph outputs into a session on the default runtime. */
export const compile = (options: CompileOptions): Promise<Session> => defaultRuntime.compile(options);

/** The cores this process may use. */
export const cores = (): number => availableParallelism();
