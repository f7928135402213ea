import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, CorruptFileError } from './errors.ts';
import { readSafetensors } from './safetensors.ts';
import type { HostTensor } from './tensors.ts';

/** One feature's encoder of a SAELens sparse autoencoder: pre-activation = (x − b_dec·[apply]) · w + b. */
export interface SaeFeature {
  /** The TransformerLens hook the SAE reads (cfg.json `hook_name`). */
  hook: string;
  dIn: number;
  dSae: number;
  /** W_enc[:, feature], [d_in]. */
  encoder: Float32Array;
  /** b_enc[feature]. */
  bias: number;
  /** b_dec, subtracted from the input first when cfg.json's `apply_b_dec_to_input` is true. */
  inputShift?: Float32Array;
}

/** The SAELens folder's cfg.json fields reverie reads. */
interface SaeConfig {
  hook_name?: unknown;
  d_in?: unknown;
  d_sae?: unknown;
  apply_b_dec_to_input?: unknown;
  normalize_activations?: unknown;
}

/**
 * Reads feature `feature` of a SAELens SAE folder (`cfg.json` + `sae_weights.safetensors`, tensors W_enc
 * [d_in, d_sae], b_enc [d_sae], b_dec [d_in]). Only its encoder column is kept.
 */
export function readSaeFeature(dir: string, feature: number): SaeFeature {
  const cfgPath = join(dir, 'cfg.json');
  const weightsPath = join(dir, 'sae_weights.safetensors');
  for (const path of [cfgPath, weightsPath])
    if (!existsSync(path))
      throw new CorruptFileError(dir, `a SAELens folder needs ${path}, which does not exist`);
  const cfg = JSON.parse(readFileSync(cfgPath, 'utf8')) as SaeConfig;
  if (typeof cfg.hook_name !== 'string')
    throw new ConfigError(cfgPath, 'hook_name', 'a hook name', cfg.hook_name);
  const normalize = cfg.normalize_activations ?? 'none';
  if (normalize !== 'none' && normalize !== null)
    throw new ConfigError(cfgPath, 'normalize_activations', '"none"', normalize);
  const weights = readSafetensors(weightsPath);
  const take = (name: string): HostTensor => {
    const t = weights.get(name);
    if (!t) throw new CorruptFileError(weightsPath, `tensor ${name} is missing`);
    return t;
  };
  const wEnc = take('W_enc');
  const [dIn, dSae] = wEnc.shape as [number, number];
  if (
    wEnc.shape.length !== 2 ||
    (cfg.d_in !== undefined && cfg.d_in !== dIn) ||
    (cfg.d_sae !== undefined && cfg.d_sae !== dSae)
  )
    throw new CorruptFileError(
      weightsPath,
      `W_enc is [${wEnc.shape}], cfg.json says [${String(cfg.d_in)}, ${String(cfg.d_sae)}]`,
    );
  if (!Number.isInteger(feature) || feature < 0 || feature >= dSae)
    throw new ConfigError(dir, 'feature', `an index in 0..${dSae - 1}`, feature);
  const bEnc = take('b_enc');
  const encoder = Float32Array.from({ length: dIn }, (_, i) => wEnc.data[i * dSae + feature] as number);
  const shift = cfg.apply_b_dec_to_input === true ? take('b_dec').data : undefined;
  return {
    hook: cfg.hook_name,
    dIn,
    dSae,
    encoder,
    bias: bEnc.data[feature] as number,
    ...(shift && { inputShift: Float32Array.from(shift) }),
  };
}
