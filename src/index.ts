/** reverie: fluent dreaming for language models. */
export * as graph from './graph/index.ts';
export * as nn from './nn/index.ts';
export * as runtime from './runtime/index.ts';
