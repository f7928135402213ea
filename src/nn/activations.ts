import { add, div, erf, GraphError, mul, sigmoid, tanh, type Node } from '../graph/index.ts';

/** Exact GELU: x·Φ(x) = ½x(1 + erf(x/√2)), in the form ONNX Runtime fuses into one Gelu kernel. */
export const gelu = (x: Node): Node => mul(mul(x, 0.5), add(erf(div(x, Math.SQRT2)), 1));

/** Tanh GELU (GPT-2's "gelu_new"): ½x(1 + tanh(√(2/π)(x + 0.044715x³))). */
export function geluTanh(x: Node): Node {
  const inner = mul(add(x, mul(mul(mul(x, x), x), 0.044715)), Math.sqrt(2 / Math.PI));
  return mul(mul(x, 0.5), add(tanh(inner), 1));
}

/** SiLU (swish): x·σ(x). */
export const silu = (x: Node): Node => mul(x, sigmoid(x));

export type Activation = 'gelu' | 'gelu_new' | 'gelu_pytorch_tanh' | 'silu';

/** The activation named as in Hugging Face configs (hidden_act / activation_function). */
export function activation(name: string): (x: Node) => Node {
  switch (name) {
    case 'gelu':
      return gelu;
    case 'gelu_new':
    case 'gelu_pytorch_tanh':
    case 'gelu_fast':
      return geluTanh;
    case 'silu':
    case 'swish':
      return silu;
    default:
      throw new GraphError(
        `unsupported activation "${name}"; expected gelu, gelu_new, gelu_pytorch_tanh or silu`,
      );
  }
}
