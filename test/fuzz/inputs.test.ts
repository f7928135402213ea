/**
 * Corrupt inputs, generated from one seed: every one must end in a named error that names its file (or,
 * where the damage happens to leave a well-formed input, in a result checked to be valid), quickly, and
 * never in a crash, a hang or a silent success.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { input, Rng } from '../../src/graph/index.ts';
import { readLlama2c, type Llama2cCheckpoint } from '../../src/io/llama2c.ts';
import {
  encodeSafetensors,
  readSafetensors,
  writeSafetensors,
  type SafetensorsFile,
} from '../../src/io/safetensors.ts';
import { numel } from '../../src/io/tensors.ts';
import { loadModel, modelFromWeights, type Model } from '../../src/models/index.ts';
import { parseTarget, type Target } from '../../src/objectives/target.ts';
import { copyFixture, expectNamed, fixtures, put, scratch, stories260K } from '../io/corrupt.ts';

const rng = new Rng(20260503);
const tmp = scratch('fuzz');
const pick = <T>(items: readonly T[]): T => items[rng.int(items.length)]!;
const words = (text: string) => text.split(' ');

/** One corrupt input: what to run on it, the file its error must name, and what makes a success valid. */
interface Case {
  label: string;
  file?: string;
  /** Whether an error must name `file`: by default always; a target's error may be about its hook. */
  aboutFile?: (error: Error) => boolean;
  run: () => unknown;
  /** Where the damage may leave a well-formed input: checks the result. Without it, success fails. */
  valid?: (result: unknown) => void;
}

/** Runs a case: a named error naming its file, or a valid result; within a few seconds either way. */
async function outcome({ file, aboutFile, run, valid }: Case): Promise<void> {
  const started = performance.now();
  let result: unknown;
  let thrown: unknown;
  try {
    result = await run();
  } catch (error) {
    thrown = error;
  }
  expect(performance.now() - started).toBeLessThan(5000);
  if (thrown === undefined) {
    if (!valid) expect.fail('a corrupt input was accepted');
    valid(result);
    return;
  }
  const error = expectNamed(thrown);
  if (file !== undefined && (aboutFile?.(error) ?? true)) expect(error.message).toContain(file);
}

function bytesFile(name: string, bytes: Uint8Array): string {
  const path = join(tmp, name);
  writeFileSync(path, bytes);
  return path;
}

// safetensors: every truncation of a small file, and headers with random bytes changed.

const safetensors = encodeSafetensors(
  {
    'layer.weight': { shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) },
    'layer.bias': { shape: [2], data: Float32Array.from([0.5, -0.5]) },
  },
  { format: 'pt' },
);
const headerEnd = 8 + Number(new DataView(safetensors.buffer).getBigUint64(0, true));

/** A file whose header still parses must hold, for each tensor, as many values as its shape says. */
function tensorsFit(result: unknown): void {
  const st = result as SafetensorsFile;
  for (const name of st.names()) expect(st.get(name)!.data.length, name).toBe(numel(st.shape(name)!));
}

const safetensorsCases: Case[] = [
  ...Array.from({ length: safetensors.length }, (_, n): Case => {
    const path = bytesFile(`cut-${n}.safetensors`, safetensors.subarray(0, n));
    return {
      label: `safetensors cut to ${n} of ${safetensors.length} bytes`,
      file: path,
      run: () => readSafetensors(path),
    };
  }),
  ...Array.from({ length: 60 }, (_, i): Case => {
    const bytes = safetensors.slice();
    for (let k = 1 + rng.int(3); k > 0; k--) bytes[rng.int(headerEnd)] = rng.int(256);
    const path = bytesFile(`header-${i}.safetensors`, bytes);
    return {
      label: `safetensors header bytes changed (#${i})`,
      file: path,
      run: () => readSafetensors(path),
      valid: tensorsFit,
    };
  }),
];

// llama2.c: every truncation of stories260K's header, cuts of the whole file, random header fields.

const checkpoint = new Uint8Array(readFileSync(stories260K));
const headerFields = Array.from({ length: 7 }, (_, i) =>
  new DataView(checkpoint.buffer).getInt32(4 * i, true),
);

/** A header that still matches the file size must give a model whose weights all fit. */
function modelFits(result: unknown): void {
  const { config, weights } = result as Llama2cCheckpoint;
  modelFromWeights(config, weights);
}

const llama2cCases: Case[] = [
  ...Array.from({ length: 65 }, (_, n): Case => {
    const path = bytesFile(`head-${n}.bin`, checkpoint.subarray(0, n));
    return {
      label: `llama2.c checkpoint cut to its first ${n} bytes`,
      file: path,
      run: () => readLlama2c(path),
    };
  }),
  ...Array.from({ length: 10 }, (_, i): Case => {
    const n = 28 + rng.int(checkpoint.length - 28);
    const path = bytesFile(`tail-${i}.bin`, checkpoint.subarray(0, n));
    return { label: `llama2.c checkpoint cut to ${n} bytes`, file: path, run: () => readLlama2c(path) };
  }),
  ...Array.from({ length: 40 }, (_, i): Case => {
    const bytes = checkpoint.slice();
    const view = new DataView(bytes.buffer);
    for (let k = 1 + rng.int(3); k > 0; k--) {
      const field = rng.int(7);
      const was = headerFields[field]!;
      const values = [0, -1, 1, 2, 3, 7, 2 ** 31 - 1, -(2 ** 31), was + 1, was - 1, 2 * was, -was];
      view.setInt32(4 * field, pick([...values, rng.nextUint32() | 0]), true);
    }
    const path = bytesFile(`fields-${i}.bin`, bytes);
    return {
      label: `llama2.c header fields changed (#${i})`,
      file: path,
      run: () => readLlama2c(path),
      valid: modelFits,
    };
  }),
];

// config.json: one field of a tiny fixture's config set to a value of the wrong type or range, or removed.

const BAD_VALUES: readonly unknown[] = [
  ...words('64 NaN Infinity -1 gelu relu silu'),
  '',
  ...[true, false, null, [], [64], {}, { value: 64 }],
  ...[-1, 0, -0, 0.5, 1.5, 3, 7, 15, 16384, 1e9, 2 ** 31, 2 ** 53, 1e300, -1e300],
];
const EXTRA_KEYS = words('head_dim n_inner rotary_emb_base rope_theta rope_scaling num_key_value_heads');

/** A model that loads must build: a graph over 4 tokens, with the logits of the whole vocabulary. */
function builds(result: unknown): void {
  const model = result as Model;
  const { logits } = model.build({ tokens: input('ids', 'int64', [1, 4]) });
  expect(logits!.shape).toEqual([1, 4, model.config.vocabSize]);
}

const configCases: Case[] = words('llama-tiny-random gpt-neox-tiny-random gpt2-tiny-random').flatMap(
  (fixture) => {
    const original = JSON.parse(readFileSync(join(fixtures, fixture, 'config.json'), 'utf8')) as object;
    const keys = [...Object.keys(original), ...EXTRA_KEYS];
    return Array.from({ length: 30 }, (): Case => {
      const config: Record<string, unknown> = { ...original };
      const key = pick(keys);
      if (rng.int(8) === 0) delete config[key];
      else config[key] = pick(BAD_VALUES);
      const dir = copyFixture(fixture, tmp);
      put(join(dir, 'config.json'), config);
      const change = key in config ? `= ${JSON.stringify(config[key])}` : 'removed';
      return {
        label: `${fixture} config.json with ${key} ${change}`,
        file: dir,
        run: () => loadModel(dir),
        valid: builds,
      };
    });
  },
);

// Target specs: the grammar's pieces, mostly wrong, on stories260K (hidden 64, MLP 172, 5 layers, 8 heads).

const sae = join(tmp, 'sae');
const directionFiles = [
  ...['/etc/passwd', '/dev/zero', tmp, join(tmp, 'missing.json')],
  put(
    join(tmp, 'direction-64.json'),
    Array.from({ length: 64 }, (_, i) => Math.sin(i)),
  ),
  put(join(tmp, 'direction-3.json'), [1, 2, 3]),
  put(join(tmp, 'direction-cut.json'), '[1, 2,'),
];
const saeDirs = [sae, join(tmp, 'missing-sae'), tmp, '/etc'];
const hooks = words(
  'hook_embed blocks.0.hook_resid_pre blocks.4.mlp.hook_post blocks.2.attn.hook_pattern ln_final.hook_normalized ' +
    'blocks.5.mlp.hook_post blocks.-1.hook_resid_pre blocks.1e9.mlp.hook_post blocks..hook hook_pos_embed x',
);
const numbers = [...words('0 1 17 63 64 171 172 511 512 -1 -13 1e9 99999999999999999999'), ''];
const tokens = ['Lily', '" cat"', '"\\u00e9"', '"', '""', 'two words', '😀', ''];
const tokenIds = words('#5 #511 #512 #99999999999999999999 #-1');

/** A random spec and the file it reads, if any. */
function randomSpec(): { spec: string; file?: string } {
  const n = () => pick(numbers);
  const file = pick([...directionFiles, ...saeDirs]);
  switch (rng.int(7)) {
    case 0:
      return { spec: `${pick(hooks)}[${n()}]` };
    case 1:
      return { spec: `${pick(hooks)}[${n()}]@${n()}` };
    case 2:
      return { spec: `${pick(hooks)}[h=${n()},k=${n()}]` };
    case 3:
      return { spec: `${pick(hooks)}@dir:${file}`, file };
    case 4:
      return { spec: `logit:${pick([...tokens, ...tokenIds])}` };
    case 5:
      return { spec: `sae:${file}[${n()}]${rng.int(2) ? `@${n()}` : ''}`, file };
    default:
      return {
        spec: Array.from({ length: rng.int(20) }, () => pick([...'[]@:=,.#"hk0123456789 blocks_'])).join(''),
      };
  }
}

let model: Model;

/** A target that parses must give one value per sequence of a batch of 2. */
function evaluates(result: unknown): void {
  const target = result as Target;
  const inputs = model.build({ tokens: input('ids', 'int64', [2, 12]), hooks: target.hooks });
  expect(target.value(inputs).shape).toEqual([2]);
}

const targetCase = (spec: string, file?: string): Case => ({
  label: `target ${JSON.stringify(spec)}`,
  ...(file !== undefined && { file, aboutFile: (error: Error) => 'path' in error || 'source' in error }),
  run: () => parseTarget(spec, { model, seqLen: 12 }),
  valid: evaluates,
});
const targetCases = Array.from({ length: 120 }, () => randomSpec()).map(({ spec, file }) =>
  targetCase(spec, file),
);

beforeAll(async () => {
  model = await loadModel(stories260K);
  mkdirSync(sae);
  put(join(sae, 'cfg.json'), { hook_name: 'blocks.2.hook_resid_post', d_in: 64, d_sae: 5 });
  writeSafetensors(join(sae, 'sae_weights.safetensors'), {
    W_enc: { shape: [64, 5], data: new Float32Array(320) },
    b_enc: { shape: [5], data: new Float32Array(5) },
  });
});

describe.each([
  ['truncated and garbled safetensors files', safetensorsCases],
  ['truncated and garbled llama2.c checkpoints', llama2cCases],
  ['config.json values of the wrong type or range', configCases],
  ['target specs', targetCases],
])('%s', (_, cases) => {
  it.each(cases.map((c) => [c.label, c] as const))('%s', async (_, c) => outcome(c));
});

// A quoted token that is not a JSON string (once a raw SyntaxError).
it.each(['logit:"\\q"', 'logit:"a"b"'])('target %s ends in a named error', async (spec) =>
  outcome(targetCase(spec)),
);

it('has at least 200 corrupt inputs', () => {
  const all = [safetensorsCases, llama2cCases, configCases, targetCases].flat();
  expect(all.length).toBeGreaterThanOrEqual(200);
});
