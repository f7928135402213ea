/**
 * Fluent red-teaming (the paper's next use of EPO; flrt, nanoGCG): a prompt after which the model says a
 * chosen text, as fluent as a perplexity filter asks. The objective is a continuation target (token forcing,
 * objectives/continuation.ts) and the run's goal is success: greedy decoding after the prompt (and a
 * template's ending) reproduces the text exactly, in every context. Teacher-forced, that is each of the
 * text's tokens being the argmax after the tokens before it, which one forward pass checks.
 */
import { argMax, input, type Node } from '../graph/index.ts';
import type { Model } from '../models/model.ts';
import { continuationSpec, type ContinuationLoss } from '../objectives/continuation.ts';
import { defaultRuntime, type Runtime, type Session } from '../runtime/index.ts';
import type { SequenceContext } from './context.ts';
import { head, rows } from './engine/programs.ts';
import { promptKey, type Candidate } from './epo.ts';
import { resolveOptions } from './options.ts';
import type { GoalReached } from './records.ts';
import { dream, resolveBos, runTargets, type DreamRequest, type DreamResult } from './run.ts';

/** Whether greedy decoding after prompts reproduces a continuation, in each of a run's contexts. */
export class ContinuationCheck {
  private constructor(
    private readonly sessions: Session[],
    private readonly contexts: readonly SequenceContext[],
    private readonly lead: readonly number[],
    private readonly text: readonly number[],
  ) {}

  /** One program per context: ids [B,T] → the argmax [B,n] at the positions before the text's n tokens. */
  static async create(
    model: Model,
    contexts: readonly SequenceContext[],
    {
      bos,
      seqLen,
      text,
      runtime = defaultRuntime,
      threads,
    }: {
      bos: number | null;
      seqLen: number;
      text: readonly number[];
      runtime?: Runtime;
      threads?: number;
    },
  ): Promise<ContinuationCheck> {
    const lead = bos === null ? [] : [bos];
    const n = text.length;
    const sessions: Session[] = [];
    for (const { before, after } of contexts) {
      const T = lead.length + before.length + seqLen + after.length;
      const ids = input('ids', 'int64', ['B', T]);
      const { normalized, unembed } = head(model.build({ tokens: ids, hooks: [] }));
      const logits = unembed(rows(normalized, T - n - 1, T - 1)); // [B,n,V]
      const greedy: Node = argMax(logits, -1); // [B,n]
      sessions.push(await runtime.compile({ outputs: { greedy }, ...(threads && { threads }) }));
    }
    return new ContinuationCheck(sessions, contexts, lead, text);
  }

  /** Per prompt: whether the model's greedy continuation is the text in every context. */
  async matches(prompts: readonly (readonly number[])[]): Promise<boolean[]> {
    const ok = prompts.map(() => true);
    if (prompts.length === 0) return ok;
    const n = this.text.length;
    for (const [c, session] of this.sessions.entries()) {
      const { before, after } = this.contexts[c] as SequenceContext;
      const sequences = prompts.map((p) => [...this.lead, ...before, ...p, ...after]);
      const T = (sequences[0] as number[]).length;
      const out = await session.run({
        ids: {
          dtype: 'int64',
          shape: [prompts.length, T],
          data: BigInt64Array.from(sequences.flat(), BigInt),
        },
      });
      const greedy = out['greedy']?.data as BigInt64Array;
      prompts.forEach((_, b) => {
        for (let i = 0; i < n; i++) if (Number(greedy[b * n + i]) !== this.text[i]) ok[b] = false;
      });
    }
    return ok;
  }

  async dispose(): Promise<void> {
    for (const session of this.sessions) await session.dispose();
  }
}

/**
 * The loss red-teaming optimizes unless told otherwise: the logit margins, which are what success is (every
 * margin positive); on stories260K it found the first successes sooner than the mean or the least
 * log-probability (README, "Fluent red-teaming").
 */
export const REDTEAM_LOSS: ContinuationLoss = 'margin';

export interface RedteamRequest extends Omit<DreamRequest, 'target' | 'goal'> {
  /** What the model should say after the prompt, as it follows it (usually with a leading space). */
  text: string;
  /** How the text's tokens' losses are folded (continuation.ts; default REDTEAM_LOSS). */
  loss?: ContinuationLoss;
  /** Go on after success, to the run's iterations or time limit (default: stop at the first success). */
  keepGoing?: boolean;
}

/** A prompt that succeeded: after how many iterations and seconds, and whether it passes the filter. */
export interface Success extends GoalReached {
  withinFilter: boolean;
}

export interface RedteamResult {
  text: string;
  target: string;
  /** The perplexity filter, options.maxXent (0: none). */
  maxXent: number;
  /** A prompt succeeded within the filter (or at all, without one). */
  success: boolean;
  /** The first member that succeeded within the filter (the run's goal), and the first at all. */
  first: Success | null;
  firstAny: Success | null;
  run: DreamResult;
}

/**
 * Runs EPO on the continuation target of `text` until a member of the population succeeds within the
 * filter (options.maxXent; without one, at all), or to the run's end with `keepGoing`. Each new member is
 * checked once.
 */
export async function redteam(request: RedteamRequest): Promise<RedteamResult> {
  const { model, text, loss = REDTEAM_LOSS, keepGoing = false } = request;
  const spec = continuationSpec(text, loss);
  const options = resolveOptions(request.options ?? {});
  const bos = resolveBos(model, options);
  const { contexts, targets } = runTargets(spec, model, options, bos);
  const check = await ContinuationCheck.create(model, contexts, {
    bos,
    seqLen: options.seqLen,
    text: targets[0]?.continuation ?? [],
    ...(request.runtime && { runtime: request.runtime }),
    ...(options.threads !== undefined && { threads: options.threads }),
  });
  const seen = new Set<string>();
  let firstAny: Success | null = null;
  const within = (c: Candidate) => !(options.maxXent > 0) || c.xent <= options.maxXent;
  try {
    const run = await dream({
      ...request,
      target: spec,
      goal: {
        name: `greedy decoding says ${JSON.stringify(text)}${options.maxXent > 0 ? ` at xent ≤ ${options.maxXent}` : ''}`,
        stop: !keepGoing,
        async check(population, at) {
          const fresh = population.filter((m) => !seen.has(promptKey(m.ids)));
          fresh.forEach((m) => seen.add(promptKey(m.ids)));
          const ok = await check.matches(fresh.map((m) => m.ids));
          const hits = fresh.filter((_, i) => ok[i]).sort((a, b) => b.target - a.target);
          const best = hits[0];
          if (best && !firstAny) firstAny = successOf(model, best, within(best), at);
          return hits.find(within);
        },
      },
    });
    const reached = run.goal?.reached ?? null;
    return {
      text,
      target: spec,
      maxXent: options.maxXent,
      success: reached !== null,
      first: reached && { ...reached, withinFilter: true },
      firstAny,
      run,
    };
  } finally {
    await check.dispose();
  }
}

function successOf(
  model: Model,
  c: Candidate,
  withinFilter: boolean,
  at: { iterations: number; seconds: number },
): Success {
  const text = model.tokenizer?.decode([...c.ids]) ?? c.ids.join(' ');
  return { ids: [...c.ids], target: c.target, xent: c.xent, text, ...at, withinFilter };
}
