import { writeFileSync } from 'node:fs';
import { attribute } from '../../dream/attribution.ts';
import { tokenPolicy } from '../../dream/tokens.ts';
import { DEFAULT_MODEL } from '../../io/resolve.ts';
import { loadModel } from '../../models/load.ts';
import type { Model } from '../../models/model.ts';
import type { Tokenizer } from '../../tokenizers/tokenizer.ts';
import { TARGET_SYNTAX } from '../../objectives/target.ts';
import { attributionHtml, attributionText } from '../../report/attribution.ts';
import { UsageError, type Command } from '../command.ts';
import { checkOutputFile } from '../paths.ts';
import { numberOption, threadsOption } from '../numbers.ts';
import { PLAIN_OPTION, useColor } from '../progress.ts';
import { cliStore, modelSha256, openCliRun, STORE_HELP, STORE_OPTION } from '../runs.ts';
import { saveAttribution } from '../../store/results.ts';

const usage = `Usage: reverie attribute [--model M] --target T (--prompt P | --ids I | --run RUN) [--k 64] [--ascii] [--html FILE] [--json]

Per-token causal attribution of a prompt by resampling (dreamy's resample attribution): at each position,
swap in the k tokens the target's gradient favours most, evaluate every swapped prompt, and report the largest
drop of the target, the worst swap and the top-3 swaps with their targets. The prompt gets a BOS where the
tokenizer adds one, as a dream; with --run, the run's best frontier prompt with its model, target and BOS.

Prints the prompt with each token shaded by its importance (ANSI 256 colours on a terminal, every other token
dim so that the boundaries show; FORCE_COLOR=1 or NO_COLOR=1 to force either way; without colour a | between
tokens) and a table.

Targets:
  ${TARGET_SYNTAX}

Options:
  -m, --model M     path or hub id (default ${DEFAULT_MODEL}; with --run, the run's)
  -t, --target T    the target spec (with --run, default the run's)
  -p, --prompt P    the prompt's text
      --ids I       the prompt as comma-separated token ids, BOS not included (e.g. a scan example's ids)
      --run RUN     attribute the best (highest-target) frontier prompt of a run (store id or name, or
                    exported folder)
      --max-xent X  with --run: the best frontier prompt whose cross-entropy is at most X
      --k K         swaps per position: the gradient's top-k tokens (default 64)
      --ascii       never swap in a token whose text is not printable ASCII (as reverie dream --ascii;
                    with --run, also where the run dreamed with --ascii)
      --no-bos      no BOS before --prompt (default: BOS where the tokenizer adds one)
      --plain       the prompt as plain text, without token boundaries
      --html FILE   also write a self-contained HTML page (hover a token for its swaps)
      --json        print {model, target, bos, ids, text, k, baseline: {target, xent}, positions: [{position,
                    id, text, drop, importance, worst, top, replacements: [{id, text, target, xent}]}]}
      --batch N     swapped prompts per evaluation batch (default 256)
      --threads N   ONNX Runtime threads (default: all cores)
${STORE_HELP}`;

function parseIds(raw: string, vocabSize: number): number[] {
  const ids = raw.split(',').map((s) => s.trim());
  const bad = ids.find((s) => !/^\d+$/.test(s) || Number(s) >= vocabSize);
  if (bad !== undefined)
    throw new UsageError(
      `--ids must be comma-separated token ids in [0, ${vocabSize}), got "${bad}"\n\n${usage}`,
    );
  return ids.map(Number);
}

export { useColor };

/**
 * The model as attribution should see it with --ascii: its tokenizer counts every token whose text is not
 * printable ASCII as special, and special tokens are never swapped in (dream/tokens.ts tokenPolicy, whose
 * `ascii` rule this is).
 */
export function asciiSwapsOnly(model: Model): Model {
  const tokenizer = model.tokenizer;
  if (!tokenizer) throw new UsageError(`--ascii needs a tokenizer; model ${model.id} has none`);
  const { banned } = tokenPolicy(model.config.vocabSize, tokenizer, true);
  const specialIds = banned.flatMap((b, id) => (b ? [id] : []));
  const restricted: Tokenizer = {
    encode: (text, opts) => tokenizer.encode(text, opts),
    decode: (ids) => tokenizer.decode(ids),
    decodeToken: (id) => tokenizer.decodeToken(id),
    vocabSize: tokenizer.vocabSize,
    ...(tokenizer.bosId !== undefined && { bosId: tokenizer.bosId }),
    ...(tokenizer.eosId !== undefined && { eosId: tokenizer.eosId }),
    specialIds,
    addsBosByDefault: tokenizer.addsBosByDefault,
  };
  return { ...model, tokenizer: restricted };
}

export const attributeCommand: Command = {
  name: 'attribute',
  summary: 'per-token causal attribution of a prompt (resampling), as a table and HTML',
  usage,
  options: {
    model: { type: 'string', short: 'm' },
    target: { type: 'string', short: 't' },
    prompt: { type: 'string', short: 'p' },
    ids: { type: 'string' },
    run: { type: 'string' },
    'max-xent': { type: 'string' },
    k: { type: 'string' },
    'no-bos': { type: 'boolean' },
    ascii: { type: 'boolean' },
    ...PLAIN_OPTION,
    html: { type: 'string' },
    json: { type: 'boolean' },
    batch: { type: 'string' },
    threads: { type: 'string' },
    ...STORE_OPTION,
  },
  async run(values) {
    const prompt = values.prompt as string | undefined;
    const rawIds = values.ids as string | undefined;
    const runDir = values.run as string | undefined;
    if ([prompt, rawIds, runDir].filter((v) => v !== undefined).length !== 1)
      throw new UsageError(`give exactly one of --prompt, --ids and --run\n\n${usage}`);
    const k = numberOption(values, 'k', 64, { usage, min: 1 });
    const batchSize = numberOption(values, 'batch', 256, { usage, min: 1 });
    const threads = threadsOption(values, usage);

    if (values.html !== undefined) checkOutputFile('--html', values.html as string);
    const opened = runDir === undefined ? undefined : await openCliRun(values, runDir);
    const run = opened?.summary;
    const storeRun = opened?.storeId;
    if (!run && values['max-xent'] !== undefined) throw new UsageError('--max-xent applies to --run only');
    if (run && values['no-bos'] === true)
      throw new UsageError('--no-bos applies to --prompt and --ids; a run keeps its own BOS');
    if (run && (run.options.templates ?? []).length > 0)
      throw new UsageError(
        `run ${runDir} dreamed inside templates; attribution reads a prompt after the BOS alone (give --ids to attribute it so)`,
      );
    const model = await loadModel((values.model as string | undefined) ?? run?.model.id ?? DEFAULT_MODEL);
    const target = (values.target as string | undefined) ?? run?.target;
    if (target === undefined)
      throw new UsageError(`--target is required with --prompt and --ids\n\n${usage}`);
    let ids: number[];
    let bos: number | null;
    if (run) {
      const maxXent = numberOption(values, 'max-xent', Infinity, { integer: false, usage });
      const best = run.frontier
        .filter((p) => p.xent <= maxXent)
        .reduce<(typeof run.frontier)[number] | undefined>(
          (a, b) => (a === undefined || b.target > a.target ? b : a),
          undefined,
        );
      if (!best)
        throw new UsageError(
          `${runDir} has no frontier prompt${Number.isFinite(maxXent) ? ` with xent ≤ ${maxXent}` : ''}`,
        );
      ids = best.ids;
      bos = run.bos;
    } else {
      const tokenizer = model.tokenizer;
      if (rawIds !== undefined) ids = parseIds(rawIds, model.config.vocabSize);
      else if (!tokenizer)
        throw new UsageError(`model ${model.id} has no tokenizer: give the prompt with --ids`);
      else ids = tokenizer.encode(prompt as string, { bos: false });
      if (ids.length === 0) throw new UsageError('the prompt has no tokens');
      const wantsBos = values['no-bos'] !== true && (tokenizer?.addsBosByDefault ?? false);
      if (wantsBos && tokenizer?.bosId === undefined)
        throw new UsageError(`model ${model.id} has no BOS token`);
      bos = wantsBos ? (tokenizer?.bosId as number) : null;
    }
    const result = await attribute({
      model: values.ascii === true || run?.options.ascii === true ? asciiSwapsOnly(model) : model,
      target,
      ids,
      bos,
      k,
      batchSize,
      ...(threads !== undefined && { threads }),
    });
    const db = cliStore(values, true);
    try {
      const id = saveAttribution(db, result, await modelSha256(model.id), storeRun);
      process.stderr.write(`attribution ${id} in ${db.name}\n`);
    } finally {
      db.close();
    }
    if (values.html !== undefined) {
      writeFileSync(values.html as string, attributionHtml(result));
      process.stderr.write(`wrote ${values.html as string}\n`);
    }
    if (values.json) console.log(JSON.stringify(result));
    else console.log(attributionText(result, { color: useColor(), plain: values.plain === true }));
  },
};
