/** Composite layers built from graph primitives. */
export { linear } from './linear.ts';
export { layerNorm, rmsNorm } from './norm.ts';
export { activation, gelu, geluTanh, silu } from './activations.ts';
export { applyRotary, rotaryTable, type RotaryConvention, type RotaryTable } from './rotary.ts';
export { attention } from './attention.ts';
export { crossEntropy, nextTokenXent, nextTokenXentFromIds } from './cross-entropy.ts';
