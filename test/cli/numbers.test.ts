import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/cli/command.ts';
import { numberOption, threadsOption } from '../../src/cli/numbers.ts';

const usage = 'Usage: reverie test';
const parse = (raw: string, spec: Parameters<typeof numberOption>[3] = { usage }) =>
  numberOption({ n: raw }, 'n', -1, spec);

describe('numeric options', () => {
  it('read plain decimal integers and numbers, and take the fallback when not given', () => {
    expect(parse('0')).toBe(0);
    expect(parse('12')).toBe(12);
    expect(parse('007')).toBe(7);
    expect(parse('0.5', { usage, integer: false })).toBe(0.5);
    expect(parse('.5', { usage, integer: false })).toBe(0.5);
    expect(parse('3', { usage, integer: false })).toBe(3);
    expect(numberOption({}, 'n', 42, { usage })).toBe(42);
  });

  it.each([
    ['0x10', 'not a plain decimal number'],
    ['1e20', 'not a plain decimal number'],
    ['1e3', 'not a plain decimal number'],
    ['', 'not a plain decimal number'],
    [' 12', 'not a plain decimal number'],
    ['12abc', 'not a plain decimal number'],
    ['NaN', 'not a plain decimal number'],
    ['Infinity', 'not a plain decimal number'],
    ['-1', 'negative'],
    ['2.5', 'not an integer'],
    ['99999999999999999999', 'past 2^53, where integers are exact'],
  ])('reject %j where an integer is required: %s', (raw, why) => {
    expect(() => parse(raw)).toThrow(UsageError);
    expect(() => parse(raw)).toThrow(
      `--n must be a non-negative integer, got ${JSON.stringify(raw)} (${why})`,
    );
  });

  it.each(['1e-3', '0x1', '-0.5', 'Infinity', '1,5'])('reject %j where a number is required', (raw) => {
    expect(() => parse(raw, { usage, integer: false })).toThrow(
      new RegExp(`^--n must be a non-negative number, got ${JSON.stringify(raw)}`),
    );
  });

  it('name the least value allowed, and follow the error with the usage', () => {
    expect(() => parse('0', { usage, min: 1 })).toThrow(
      `--n must be an integer of at least 1, got "0" (too small)\n\n${usage}`,
    );
  });

  it("bound --threads by the machine's cores, saying so", () => {
    const cores = availableParallelism();
    expect(threadsOption({}, usage)).toBeUndefined();
    expect(threadsOption({ threads: String(cores) }, usage)).toBe(cores);
    expect(() => threadsOption({ threads: String(cores + 1) }, usage)).toThrow(
      `--threads must be an integer from 1 to ${cores} (the machine's cores), got "${cores + 1}" (too large)`,
    );
    expect(() => threadsOption({ threads: '0' }, usage)).toThrow(/got "0" \(too small\)/);
  });
});
