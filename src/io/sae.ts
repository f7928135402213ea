import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, CorruptFileError } from './errors.ts';
import { readJsonFile } from './files.ts';
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

/** The fields of a SAELens folder's cfg.json that reverie reads, checked. */
interface SaeConfig {
  hook: string;
  dIn?: number;
  dSae?: number;
  applyBDecToInput: boolean;
}

/** Several features' encoders of a SAELens SAE: pre-activations = (x − b_dec·[apply]) · W + b, [.., n]. */
export interface SaeFeatures {
  /** The TransformerLens hook the SAE reads (cfg.json `hook_name`). */
  hook: string;
  dIn: number;
  dSae: number;
  /** The features read, in order. */
  indices: number[];
  /** W_enc[:, indices], [d_in, n] row-major. */
  encoder: Float32Array;
  /** b_enc[indices], [n]. */
  bias: Float32Array;
  /** b_dec, subtracted from the input first when cfg.json's `apply_b_dec_to_input` is true. */
  inputShift?: Float32Array;
}

/**
 * Reads features `indices` of a SAELens SAE folder (`cfg.json` + `sae_weights.safetensors`, tensors W_enc
 * [d_in, d_sae], b_enc [d_sae], b_dec [d_in]): only their encoder columns are kept. `indices` is a list,
 * 'all', or a function that picks them from d_sae once the file tells it.
 */
export function readSaeFeatures(
  dir: string,
  indices: readonly number[] | 'all' | ((dSae: number) => readonly number[]),
): SaeFeatures {
  const cfgPath = join(dir, 'cfg.json');
  const weightsPath = join(dir, 'sae_weights.safetensors');
  for (const path of [cfgPath, weightsPath])
    if (!existsSync(path))
      throw new CorruptFileError(dir, `a SAELens folder needs ${path}, which does not exist`);
  const cfg = readSaeConfig(cfgPath);
  const weights = readSafetensors(weightsPath);
  const take = (name: string, shape: (number | undefined)[]): HostTensor => {
    const t = weights.get(name);
    if (!t) throw new CorruptFileError(weightsPath, `tensor ${name} is missing`);
    if (t.shape.length !== shape.length || shape.some((d, i) => d !== undefined && d !== t.shape[i]))
      throw new CorruptFileError(
        weightsPath,
        `tensor ${name} is [${t.shape.join(', ')}]; expected [${shape.map((d) => d ?? '*').join(', ')}]` +
          ' (cfg.json d_in, d_sae)',
      );
    return t;
  };
  const wEnc = take('W_enc', [cfg.dIn, cfg.dSae]);
  const [dIn, dSae] = wEnc.shape as [number, number];
  const picked =
    indices === 'all'
      ? Array.from({ length: dSae }, (_, i) => i)
      : [...(typeof indices === 'function' ? indices(dSae) : indices)];
  for (const feature of picked)
    if (!Number.isInteger(feature) || feature < 0 || feature >= dSae)
      throw new ConfigError(dir, 'feature', `an index in 0..${dSae - 1}`, feature);
  const bEnc = take('b_enc', [dSae]);
  const n = picked.length;
  const encoder = new Float32Array(dIn * n);
  for (let i = 0; i < dIn; i++)
    for (let j = 0; j < n; j++) encoder[i * n + j] = wEnc.data[i * dSae + (picked[j] as number)] as number;
  const shift = cfg.applyBDecToInput ? take('b_dec', [dIn]).data : undefined;
  return {
    hook: cfg.hook,
    dIn,
    dSae,
    indices: picked,
    encoder,
    bias: Float32Array.from(picked, (f) => bEnc.data[f] as number),
    ...(shift && { inputShift: Float32Array.from(shift) }),
  };
}

/** Feature `feature` of a SAELens SAE folder (see readSaeFeatures): its encoder column and bias. */
export function readSaeFeature(dir: string, feature: number): SaeFeature {
  const { hook, dIn, dSae, encoder, bias, inputShift } = readSaeFeatures(dir, [feature]);
  return { hook, dIn, dSae, encoder, bias: bias[0] as number, ...(inputShift && { inputShift }) };
}

function readSaeConfig(path: string): SaeConfig {
  const json = readJsonFile(path);
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    throw new ConfigError(path, 'the config', 'a JSON object', json);
  const cfg = json as Record<string, unknown>;
  if (typeof cfg.hook_name !== 'string')
    throw new ConfigError(path, 'hook_name', 'a hook name', cfg.hook_name);
  const normalize = cfg.normalize_activations;
  if (normalize != null && normalize !== 'none')
    throw new ConfigError(path, 'normalize_activations', '"none"', normalize);
  const size = (field: string): number | undefined => {
    const v = cfg[field];
    if (v == null) return undefined;
    if (!(Number.isSafeInteger(v) && (v as number) > 0))
      throw new ConfigError(path, field, 'a positive integer', v);
    return v as number;
  };
  return {
    hook: cfg.hook_name,
    dIn: size('d_in'),
    dSae: size('d_sae'),
    applyBDecToInput: cfg.apply_b_dec_to_input === true,
  };
}
