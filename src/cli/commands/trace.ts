import { favouredSwaps, type FavouredSwaps } from '../../dream/favoured.ts';
import { DEFAULT_MODEL } from '../../io/resolve.ts';
import { loadModel } from '../../models/load.ts';
import type { Model } from '../../models/model.ts';
import { logSumExp, trace, traceIds, TraceError, type Trace } from '../../models/trace.ts';
import { UsageError, type Command } from '../command.ts';
import { numberOption, threadsOption } from '../numbers.ts';
import {
  PLAIN_OPTION,
  plainHelp,
  tokenPieces,
  tokensText,
  tokenStyle,
  type TokenStyle,
} from '../progress.ts';

const usage = `Usage: reverie trace [--model M] (--prompt P | --ids 1,2,3) [--hooks h1,h2] [--target T [--topk K]] [--plain] [--json]

Runs the model once on a prompt (TransformerLens' run_with_cache): the tokens, the next-token cross-entropy
of each position, the top next tokens after the last position, and the values of the requested hooks. The
library's trace(model, prompt, {hooks}) returns what --json prints.

Options:
  -m, --model M     path or hub id (default ${DEFAULT_MODEL})
  -p, --prompt P    text, tokenized with a BOS where the model's tokenizer uses one
      --ids I       comma-separated token ids, fed as given (for models without a tokenizer)
      --hooks H     comma-separated hook names, e.g. blocks.1.mlp.hook_post,blocks.0.attn.hook_pattern
      --top K       how many next tokens to list (default 10)
      --target T    also the value of a target (see reverie dream --help for the syntax) and, per
                    position, the --topk tokens whose swap its gradient favours most
      --topk K      how many favoured tokens per position (default 5)
${plainHelp(20)}
      --json        one JSON object: {tokens: [{id, text}], xent: number[], logits_last: number[],
                    hooks: {name: number[][]}} where xent[t-1] = -log p(ids[t] | ids[<t]) and each hook
                    is [position][feature]; attn.hook_pattern rows are [query position][head·T + key
                    position]; text is null without a tokenizer`;

export type { Trace };

/** One forward pass of `ids` (run as given) with the requested hooks, as plain numbers. */
export function traceModel(
  model: Model,
  ids: readonly number[],
  hookNames: readonly string[],
  threads?: number,
): Promise<Trace> {
  return trace(model, ids, { hooks: hookNames, ...(threads !== undefined && { threads }) });
}

function parseIds(raw: string, vocabSize: number): number[] {
  const ids = raw.split(',').map((s) => s.trim());
  const bad = ids.find((s) => !/^\d+$/.test(s) || Number(s) >= vocabSize);
  if (ids.length === 0 || bad !== undefined)
    throw new UsageError(
      `--ids must be comma-separated token ids in [0, ${vocabSize}), got "${bad ?? raw}"\n\n${usage}`,
    );
  return ids.map(Number);
}

const show = (text: string | null, id: number) => (text === null ? `#${id}` : JSON.stringify(text));
const fixed = (x: number) => (Math.abs(x) >= 1e4 ? x.toExponential(3) : x.toFixed(4));

/** The prompt of a trace on one line, its token boundaries shown; a leading BOS as [BOS]. */
function promptLine(model: Model, ids: readonly number[], style: TokenStyle): string {
  const bos = model.tokenizer?.bosId;
  const skip = bos !== undefined && ids[0] === bos ? 1 : 0;
  const pieces = tokenPieces(model, ids.slice(skip));
  const text = pieces ? tokensText(pieces, style) : ids.slice(skip).join(' ');
  return `${skip ? '[BOS] ' : ''}${text}`;
}

function printTrace(model: Model, trace: Trace, top: number, style: TokenStyle): void {
  const { tokens, xent } = trace;
  const lines = [
    `${model.id}: ${tokens.length} tokens`,
    `  ${promptLine(
      model,
      tokens.map((t) => t.id),
      style,
    )}`,
    '  pos      id  token                  xent',
  ];
  tokens.forEach(({ id, text }, t) => {
    const x = t === 0 ? '—' : fixed(xent[t - 1] as number);
    lines.push(
      `  ${String(t).padStart(3)}  ${String(id).padStart(6)}  ${show(text, id).padEnd(20)} ${x.padStart(7)}`,
    );
  });
  if (xent.length > 0)
    lines.push(`  mean next-token cross-entropy: ${fixed(xent.reduce((a, b) => a + b, 0) / xent.length)}`);

  const logits = trace.logits_last;
  const lse = logSumExp(Float32Array.from(logits));
  const order = logits.map((l, id) => [l, id] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  lines.push('', `top ${top} next tokens after position ${tokens.length - 1}:`);
  for (const [rank, [logit, id]] of order.slice(0, top).entries()) {
    const text = model.tokenizer ? model.tokenizer.decodeToken(id) : null;
    const p = Math.exp(logit - lse);
    lines.push(
      `  ${String(rank + 1).padStart(3)}. ${String(id).padStart(6)}  ${show(text, id).padEnd(20)} p=${p.toFixed(4)}  logit ${fixed(logit)}`,
    );
  }

  for (const [name, rows] of Object.entries(trace.hooks)) {
    const width = rows[0]?.length ?? 0;
    lines.push('', `${name} [${rows.length} positions × ${width}]`);
    rows.forEach((values, t) => {
      let argmax = 0;
      values.forEach((v, j) => {
        if (v > (values[argmax] as number)) argmax = j;
      });
      const head = values.slice(0, 8).map(fixed).join(' ');
      const more = width > 8 ? ` … (max ${fixed(values[argmax] as number)} at ${argmax})` : '';
      lines.push(`  ${String(t).padStart(3)}: ${head}${more}`);
    });
  }
  console.log(lines.join('\n'));
}

export const traceCommand: Command = {
  name: 'trace',
  summary: 'run a model once: tokens, cross-entropy, top next tokens and hook values (run_with_cache)',
  usage,
  options: {
    model: { type: 'string', short: 'm' },
    prompt: { type: 'string', short: 'p' },
    ids: { type: 'string' },
    hooks: { type: 'string' },
    top: { type: 'string' },
    json: { type: 'boolean' },
    threads: { type: 'string' },
    target: { type: 'string' },
    topk: { type: 'string' },
    ...PLAIN_OPTION,
  },
  async run(values) {
    const prompt = values.prompt as string | undefined;
    const rawIds = values.ids as string | undefined;
    if ((prompt === undefined) === (rawIds === undefined))
      throw new UsageError(`give exactly one of --prompt and --ids\n\n${usage}`);
    const top = numberOption(values, 'top', 10, { usage });
    const favouredK = numberOption(values, 'topk', 5, { usage, min: 1 });
    const threads = threadsOption(values, usage);
    const model = await loadModel((values.model as string | undefined) ?? DEFAULT_MODEL);
    if (rawIds === undefined && !model.tokenizer)
      throw new UsageError(`model ${model.id} has no tokenizer: give token ids with --ids\n\n${usage}`);
    const given = rawIds !== undefined ? parseIds(rawIds, model.config.vocabSize) : (prompt as string);
    let ids: number[];
    try {
      ids = traceIds(model, given);
    } catch (error) {
      if (error instanceof TraceError) throw new UsageError(error.message);
      throw error;
    }
    const hooks = ((values.hooks as string | undefined) ?? '')
      .split(',')
      .map((h) => h.trim())
      .filter(Boolean);
    const result = await trace(model, ids, { hooks, ...(threads !== undefined && { threads }) });
    const spec = values.target as string | undefined;
    const favoured =
      spec === undefined
        ? undefined
        : await favouredSwaps(model, ids, spec, {
            k: favouredK,
            ...(threads !== undefined && { threads }),
          });
    if (values.json) console.log(JSON.stringify(favoured ? { ...result, ...favoured } : result));
    else {
      printTrace(model, result, Math.min(top, model.config.vocabSize), tokenStyle(values));
      if (favoured) printFavoured(model, ids, favoured);
    }
  },
};

function printFavoured(model: Model, ids: readonly number[], { target, favoured }: FavouredSwaps): void {
  const text = (id: number) => show(model.tokenizer ? model.tokenizer.decodeToken(id) : null, id);
  const lines = [
    '',
    `target ${target.spec} = ${fixed(target.value)}`,
    'tokens whose swap the gradient favours:',
  ];
  for (const { position, ids: swaps } of favoured)
    lines.push(
      `  ${String(position).padStart(3)}  ${text(ids[position] as number).padEnd(16)} → ${swaps.map(text).join(' ')}`,
    );
  console.log(lines.join('\n'));
}
