/** The tensor graph DSL: symbolic nodes, primitives, reverse-mode autodiff, ONNX writer and printer. */
export * from './ops/index.ts';
export { grad, unbroadcast } from './autodiff.ts';
export { Node, apply, topologicalOrder, type Aval, type Attrs } from './node.ts';
export { substitute } from './substitute.ts';
export { definePrimitive, nonDifferentiable, GraphError, type Primitive, type Vjp } from './primitive.ts';
export { printGraph } from './printer.ts';
export { writeOnnx, OPSET, type OnnxModel, type WriteOptions } from './onnx-writer.ts';
export { ShapeError, broadcastShapes, dimProduct, formatShape, type Dim, type Shape } from './shape.ts';
export { isFloat, hostArray, type DType, type HostData } from './dtype.ts';
export { Rng } from './rng.ts';
