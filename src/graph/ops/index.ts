import type { Primitive } from '../primitive.ts';
import { Add } from './add.ts';
import { ArgMax } from './arg-max.ts';
import { Cast } from './cast.ts';
import { Equal, Greater, GreaterOrEqual, Less, LessOrEqual } from './compare.ts';
import { Concat } from './concat.ts';
import { Div } from './div.ts';
import { Erf } from './erf.ts';
import { Exp } from './exp.ts';
import { Expand } from './expand.ts';
import { Gather } from './gather.ts';
import { GatherElements } from './gather-elements.ts';
import { Gemm } from './gemm.ts';
import { Constant, Input } from './leaf.ts';
import { LayerNormalization } from './layer-norm.ts';
import { Log } from './log.ts';
import { LogSoftmax } from './log-softmax.ts';
import { MatMul } from './matmul.ts';
import { Mul } from './mul.ts';
import { Neg } from './neg.ts';
import { OneHot } from './one-hot.ts';
import { Pad } from './pad.ts';
import { Pow } from './pow.ts';
import { ReduceMax, ReduceMean, ReduceSum } from './reduce.ts';
import { Reshape } from './reshape.ts';
import { ScatterAdd } from './scatter-add.ts';
import { Sigmoid } from './sigmoid.ts';
import { Slice } from './slice.ts';
import { Softmax } from './softmax.ts';
import { Sqrt } from './sqrt.ts';
import { Squeeze } from './squeeze.ts';
import { StopGradient } from './stop-gradient.ts';
import { Sub } from './sub.ts';
import { Tanh } from './tanh.ts';
import { TopK } from './top-k.ts';
import { Transpose } from './transpose.ts';
import { Unsqueeze } from './unsqueeze.ts';
import { Where } from './where.ts';

/** The op table: every primitive of the engine, each with its shape rule, lowering and VJP. */
export const primitives = {
  Input,
  Constant,
  MatMul,
  Gemm,
  Add,
  Sub,
  Mul,
  Div,
  Neg,
  Pow,
  Sqrt,
  Exp,
  Log,
  Tanh,
  Erf,
  Sigmoid,
  ReduceSum,
  ReduceMean,
  ReduceMax,
  Softmax,
  LogSoftmax,
  LayerNormalization,
  Reshape,
  Transpose,
  Unsqueeze,
  Squeeze,
  Expand,
  Slice,
  Pad,
  Concat,
  Gather,
  GatherElements,
  ScatterAdd,
  Where,
  Cast,
  StopGradient,
  OneHot,
  TopK,
  ArgMax,
  Equal,
  Less,
  LessOrEqual,
  Greater,
  GreaterOrEqual,
} satisfies Record<string, Primitive<never>>;

export { add } from './add.ts';
export { argMax } from './arg-max.ts';
export { cast } from './cast.ts';
export { equal, greater, greaterOrEqual, less, lessOrEqual } from './compare.ts';
export { concat } from './concat.ts';
export { div } from './div.ts';
export { erf } from './erf.ts';
export { exp } from './exp.ts';
export { expand } from './expand.ts';
export { gather } from './gather.ts';
export { gatherElements } from './gather-elements.ts';
export { constant, input, scalar } from './leaf.ts';
export { layerNormalization } from './layer-norm.ts';
export { log } from './log.ts';
export { logSoftmax } from './log-softmax.ts';
export { gemm } from './gemm.ts';
export { matmul } from './matmul.ts';
export { mul } from './mul.ts';
export { neg } from './neg.ts';
export { oneHot } from './one-hot.ts';
export { pad } from './pad.ts';
export { pow } from './pow.ts';
export { reduceMax, reduceMean, reduceSum } from './reduce.ts';
export { reshape } from './reshape.ts';
export { scatterAdd } from './scatter-add.ts';
export { sigmoid } from './sigmoid.ts';
export { END, slice } from './slice.ts';
export { softmax } from './softmax.ts';
export { sqrt } from './sqrt.ts';
export { squeeze } from './squeeze.ts';
export { stopGradient } from './stop-gradient.ts';
export { sub } from './sub.ts';
export { tanh } from './tanh.ts';
export { topkIndices, topkValues } from './top-k.ts';
export { transpose, transposeLast2 } from './transpose.ts';
export { unsqueeze } from './unsqueeze.ts';
export { where } from './where.ts';
export type { Operand } from './common.ts';
