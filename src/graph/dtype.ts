/** Element types of graph values, and the host arrays that carry them. */
export type DType = 'float32' | 'float64' | 'int64' | 'int32' | 'bool';

export type HostData = Float32Array | Float64Array | BigInt64Array | Int32Array | Uint8Array;

export const isFloat = (dtype: DType): boolean => dtype === 'float32' || dtype === 'float64';

/** ONNX TensorProto.DataType codes. */
export const onnxDType: Record<DType, number> = { float32: 1, float64: 11, int64: 7, int32: 6, bool: 9 };

export const shortDType: Record<DType, string> = {
  float32: 'f32',
  float64: 'f64',
  int64: 'i64',
  int32: 'i32',
  bool: 'bool',
};

export function hostArray(dtype: DType, values: ArrayLike<number> | readonly number[]): HostData {
  switch (dtype) {
    case 'float32':
      return Float32Array.from(values);
    case 'float64':
      return Float64Array.from(values);
    case 'int32':
      return Int32Array.from(values);
    case 'bool':
      return Uint8Array.from(values, (v) => (v ? 1 : 0));
    case 'int64':
      return BigInt64Array.from(Array.from(values, (v) => BigInt(Math.trunc(v))));
  }
}
