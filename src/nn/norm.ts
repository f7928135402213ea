import { add, div, mul, reduceMean, sqrt, sub, type Node } from '../graph/index.ts';

/** LayerNorm over the last axis: (x − μ)/√(σ² + ε)·w + b, σ² the biased variance (as PyTorch). */
export function layerNorm(x: Node, weight: Node, bias: Node, eps: number): Node {
  const centered = sub(x, reduceMean(x, [-1], true));
  const variance = reduceMean(mul(centered, centered), [-1], true);
  return add(mul(div(centered, sqrt(add(variance, eps))), weight), bias);
}

/** RMSNorm over the last axis: x/√(mean(x²) + ε)·w (Llama; HF LlamaRMSNorm). */
export function rmsNorm(x: Node, weight: Node, eps: number): Node {
  const meanSquare = reduceMean(mul(x, x), [-1], true);
  return mul(div(x, sqrt(add(meanSquare, eps))), weight);
}
