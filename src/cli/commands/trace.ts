import { favouredSwaps, type FavouredSwaps } from '../../dream/favoured.ts';
import { input } from '../../graph/index.ts';
import { DEFAULT_MODEL } from '../../io/resolve.ts';
import { loadModel } from '../../models/load.ts';
import type { Model } from '../../models/model.ts';
import { nodeRuntime } from '../../runtime/index.ts';
import type { HostTensor } from '../../runtime/types.ts';
import { UsageError, type Command } from '../command.ts';
import { numberOption, threadsOption } from '../numbers.ts';

const usage = `Usage: reverie trace [--model M] (--prompt P | --ids 1,2,3) [--hooks h1,h2] [--target T [--topk K]] [--json]

Runs the model once on a prompt (TransformerLens' run_with_cache): the tokens, the next-token cross-entropy
of each position, the top next tokens after the last position, and the values of the requested hooks.

Options:
  -m, --model M     path or hub id (default ${DEFAULT_MODEL})
  -p, --prompt P    text, tokenized with a BOS where the model's tokenizer uses one
      --ids I       comma-separated token ids, fed as given (for models without a tokenizer)
      --hooks H     comma-separated hook names, e.g. blocks.1.mlp.hook_post,blocks.0.attn.hook_pattern
      --top K       how many next tokens to list (default 10)
      --target T    also the value of a target (see reverie dream --help for the syntax) and, per
                    position, the --topk tokens whose swap its gradient favours most
      --topk K      how many favoured tokens per position (default 5)
      --json        one JSON object: {tokens: [{id, text}], xent: number[], logits_last: number[],
                    hooks: {name: number[][]}} where xent[t-1] = -log p(ids[t] | ids[<t]) and each hook
                    is [position][feature]; attn.hook_pattern rows are [query position][head·T + key
                    position]; text is null without a tokenizer`;

export interface Trace {
  tokens: { id: number; text: string | null }[];
  xent: number[];
  logits_last: number[];
  hooks: Record<string, number[][]>;
}

/** One forward pass of `ids` with the requested hooks, as plain numbers. */
export async function traceModel(
  model: Model,
  ids: readonly number[],
  hookNames: readonly string[],
  threads?: number,
): Promise<Trace> {
  const V = model.config.vocabSize;
  const T = ids.length;
  const tokens = input('tokens', 'int64', [1, T]);
  const { logits, hooks } = model.build({ tokens, hooks: hookNames });
  const session = await nodeRuntime.compile({
    outputs: { logits: logits!, ...hooks },
    ...(threads !== undefined && { threads }),
  });
  let out: Record<string, HostTensor>;
  try {
    out = await session.run({
      tokens: { dtype: 'int64', shape: [1, T], data: BigInt64Array.from(ids, BigInt) },
    });
  } finally {
    await session.dispose();
  }
  const all = out.logits!.data as Float32Array; // [1,T,V]
  const row = (t: number) => all.subarray(t * V, (t + 1) * V);
  // xent[t−1] = logsumexp(logits[t−1]) − logits[t−1][ids[t]], in float64
  const xent = ids.slice(1).map((id, t) => logSumExp(row(t)) - (row(t)[id] as number));
  const tokenizer = model.tokenizer;
  return {
    tokens: ids.map((id) => ({ id, text: tokenizer ? tokenizer.decodeToken(id) : null })),
    xent,
    logits_last: Array.from(row(T - 1)),
    hooks: Object.fromEntries(hookNames.map((name) => [name, byPosition(out[name]!)])),
  };
}

function logSumExp(x: Float32Array): number {
  let max = -Infinity;
  for (const v of x) max = Math.max(max, v);
  let sum = 0;
  for (const v of x) sum += Math.exp(v - max);
  return max + Math.log(sum);
}

/** A hook of batch 1 as [position][feature]: [1,T,F] as is, [1,H,T,S] as [T][H·S] (head-major). */
function byPosition(t: HostTensor): number[][] {
  const data = t.data as Float32Array;
  if (t.shape.length === 3) {
    const [, T, F] = t.shape as [number, number, number];
    return Array.from({ length: T }, (_, p) => Array.from(data.subarray(p * F, (p + 1) * F)));
  }
  const [, H, T, S] = t.shape as [number, number, number, number];
  return Array.from({ length: T }, (_, p) =>
    Array.from({ length: H * S }, (_, j) => data[(Math.floor(j / S) * T + p) * S + (j % S)] as number),
  );
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

function printTrace(model: Model, trace: Trace, top: number): void {
  const { tokens, xent } = trace;
  const lines = [`${model.id}: ${tokens.length} tokens`, '  pos      id  token                  xent'];
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
    let ids: number[];
    if (rawIds !== undefined) ids = parseIds(rawIds, model.config.vocabSize);
    else if (!model.tokenizer)
      throw new UsageError(`model ${model.id} has no tokenizer: give token ids with --ids\n\n${usage}`);
    else ids = model.tokenizer.encode(prompt as string);
    if (ids.length === 0) throw new UsageError('the prompt has no tokens');
    if (ids.length > model.config.maxPositions)
      throw new UsageError(`${ids.length} tokens exceed the model's ${model.config.maxPositions} positions`);
    const hooks = ((values.hooks as string | undefined) ?? '')
      .split(',')
      .map((h) => h.trim())
      .filter(Boolean);
    const trace = await traceModel(model, ids, hooks, threads);
    const spec = values.target as string | undefined;
    const favoured =
      spec === undefined
        ? undefined
        : await favouredSwaps(model, ids, spec, {
            k: favouredK,
            ...(threads !== undefined && { threads }),
          });
    if (values.json) console.log(JSON.stringify(favoured ? { ...trace, ...favoured } : trace));
    else {
      printTrace(model, trace, Math.min(top, model.config.vocabSize));
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
