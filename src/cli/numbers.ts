/**
 * The one parser of the CLI's numeric options. It takes plain decimals only ("12", "0.5"): Number() would read
 * "0x10" as 16, "" as 0 and "1e20" as an integer past 2^53, and let "NaN" and "Infinity" through.
 */
import { availableParallelism } from 'node:os';
import { UsageError } from './command.ts';

/** What a numeric option takes. */
export interface NumberSpec {
  /** Integers only (default true). */
  integer?: boolean;
  /** The least value (default 0). */
  min?: number;
  /** The largest value, with why it is the largest. */
  max?: { value: number; why: string };
}

/** ONNX Runtime's intra-op threads: more than the machine's cores only contend for them. */
export const THREADS: NumberSpec = {
  min: 1,
  max: { value: availableParallelism(), why: "the machine's cores" },
};

const INTEGER = /^\d+$/;
const DECIMAL = /^(\d+\.?\d*|\.\d+)$/;

/** What a spec takes, in words: 'a non-negative integer', 'an integer from 1 to 2 (the machine's cores)'. */
function expected({ integer = true, min = 0, max }: NumberSpec): string {
  const kind = integer ? 'integer' : 'number';
  if (max) return `${integer ? 'an' : 'a'} ${kind} from ${min} to ${max.value} (${max.why})`;
  return min === 0 ? `a non-negative ${kind}` : `${integer ? 'an' : 'a'} ${kind} of at least ${min}`;
}

/** Why `raw` is not what the spec takes, or undefined where it is. */
function problem(raw: string, n: number, { integer = true, min = 0, max }: NumberSpec): string | undefined {
  if (raw.startsWith('-') && DECIMAL.test(raw.slice(1))) return 'negative';
  if (!(integer ? INTEGER : DECIMAL).test(raw))
    return integer && DECIMAL.test(raw) ? 'not an integer' : 'not a plain decimal number';
  if (integer && !Number.isSafeInteger(n)) return 'past 2^53, where integers are exact';
  if (n < min) return 'too small';
  if (max && n > max.value) return 'too large';
  return undefined;
}

/** What is wrong with `raw` as the value of --name: the option, what it takes and what it got; or undefined. */
function mistake(name: string, raw: string, spec: NumberSpec): string | undefined {
  const wrong = problem(raw, Number(raw), spec);
  return wrong && `--${name} must be ${expected(spec)}, got ${JSON.stringify(raw)} (${wrong})`;
}

/** A numeric option of parsed `values`, `fallback` where it is not given; an error ends with the usage. */
export function numberOption(
  values: Record<string, unknown>,
  name: string,
  fallback: number,
  { usage, ...spec }: NumberSpec & { usage: string },
): number {
  const raw = values[name];
  if (raw === undefined) return fallback;
  const wrong = mistake(name, String(raw), spec);
  if (wrong !== undefined) throw new UsageError(`${wrong}\n\n${usage}`);
  return Number(raw);
}

/** --threads where given: 1 up to the machine's cores. */
export const threadsOption = (values: Record<string, unknown>, usage: string): number | undefined =>
  values.threads === undefined ? undefined : numberOption(values, 'threads', 1, { usage, ...THREADS });
