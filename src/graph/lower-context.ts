import type { DType, HostData } from './dtype.ts';
import type { Node } from './node.ts';
import type { Shape } from './shape.ts';

/** An ONNX attribute value, tagged with its proto type. */
export type OnnxAttr =
  | { int: number }
  | { float: number }
  | { ints: readonly number[] }
  | { floats: readonly number[] }
  | { string: string };

/** What a primitive's lowering may do: name values and emit ONNX nodes into the model being written. */
export interface LowerContext {
  /** The ONNX value name of a graph node's output. */
  name(node: Node): string;
  /** A new unique ONNX value name. */
  fresh(hint: string): string;
  emit(
    opType: string,
    inputs: readonly string[],
    outputs: readonly string[],
    attrs?: Record<string, OnnxAttr>,
  ): void;
  /** An int64 1-D initializer. */
  int64s(values: readonly number[]): string;
  /** A scalar initializer of the given dtype. */
  scalar(value: number, dtype: DType): string;
  /** A 1-D int64 tensor holding `shape`, resolving symbolic dims from the graph inputs at run time. */
  shapeTensor(shape: Shape): string;
  /** Declares a graph input (from an Input node). */
  graphInput(node: Node, name: string): void;
  /** Declares an initializer (from a Constant node). */
  initializer(node: Node, data: HostData): void;
}
