/**
 * The browser's twin of ./index.ts (same exports, swapped in by web/build.ts): no Node built-ins, and
 * onnxruntime-web (WebAssembly) as the default runtime. nodeRuntime is a runtime that refuses to compile.
 */
export { RuntimeError } from './ort-session.ts';
export type { CompileOptions, HostTensor, Provider, Runtime, Session } from './types.ts';
import { RuntimeError } from './ort-session.ts';
import type { CompileOptions, Runtime, Session } from './types.ts';
import { webRuntime } from './web.ts';

/** onnxruntime-node does not run in a browser. */
export const nodeRuntime: Runtime = {
  compile: () =>
    Promise.reject(new RuntimeError('onnxruntime-node does not run in a browser: use webRuntime')),
};

/** The runtime programs compile on unless told otherwise: onnxruntime-web in a browser. */
export const defaultRuntime: Runtime = webRuntime;

/** Compiles named graph outputs into a session on the default runtime. */
export const compile = (options: CompileOptions): Promise<Session> => defaultRuntime.compile(options);

/** The cores the page may use. */
export const cores = (): number => globalThis.navigator?.hardwareConcurrency ?? 1;
