import { add, div, layerNormalization, mul, pow, reduceMean, sqrt, type Node } from '../graph/index.ts';

/**
 * LayerNorm over the last axis: (x − μ)/√(σ² + ε)·w + b, σ² the biased variance (as PyTorch), as ONNX's
 * one-kernel LayerNormalization.
 */
export function layerNorm(x: Node, weight: Node, bias: Node, eps: number): Node {
  return layerNormalization(x, weight, bias, eps);
}

/** RMSNorm over the last axis: x/√(mean(x²) + ε)·w (Llama; HF LlamaRMSNorm), in the form ONNX Runtime fuses. */
export function rmsNorm(x: Node, weight: Node, eps: number): Node {
  const meanSquare = reduceMean(pow(x, 2), [-1], true);
  return mul(div(x, sqrt(add(meanSquare, eps))), weight);
}
