import type { Node } from '../graph/index.ts';
import type { Model } from '../models/model.ts';

/** A scalar per sequence built from a model's hooks or logits: what EPO drives up. */
export interface Target {
  /** The spec as written. */
  readonly spec: string;
  /** Hooks the target reads. */
  readonly hooks: readonly string[];
  /** The target of each sequence, [B], from the values of `hooks` (and the logits, for `logit:`). */
  value(inputs: TargetInputs): Node;
  /**
   * Tokens the target reads after the prompt (a continuation's text): every sequence it is built over ends
   * with them, as fixed context.
   */
  readonly continuation?: readonly number[];
}

/** What a target reads: the values of its hooks, and the logits [B,T,V] where the model was built whole. */
export interface TargetInputs {
  readonly hooks: Readonly<Record<string, Node>>;
  readonly logits?: Node;
}

/** A malformed target spec, or one that names a hook, index or token the model does not have. */
export class TargetSpecError extends Error {
  override name = 'TargetSpecError';
}

/** The options a target needs from its surroundings. */
export interface TargetContext {
  model: Model;
  /** Sequence length of the graphs it will be built into (BOS, fixed context and a continuation included). */
  seqLen: number;
  /** Reads a direction file (default: a JSON array of numbers on disk). */
  readDirection?: (path: string) => number[];
}
