import { copyFileSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect } from 'vitest';

export const models = process.env.REVERIE_MODEL_PATH ?? '../shared/models';
export const fixtures = '../shared/fixtures';
export const stories260K = join(models, 'karpathy/tinyllamas/stories260K/stories260K.bin');

/** A temporary directory, removed when the test file's tests are done. */
export function scratch(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `reverie-${prefix}-`));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A copy of a fixture folder under `dir`, to be corrupted. */
export function copyFixture(name: string, dir: string): string {
  const to = mkdtempSync(join(dir, `${name}-`));
  for (const file of readdirSync(join(fixtures, name)))
    copyFileSync(join(fixtures, name, file), join(to, file));
  return to;
}

/** Writes `content` to `path`: a string verbatim (broken JSON included), anything else as JSON. */
export function put(path: string, content: unknown): string {
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

const GENERIC = ['Error', 'TypeError', 'RangeError', 'SyntaxError', 'ReferenceError'];

/**
 * The error `run` throws, which must be a named one (not a bare Error, TypeError, RangeError or
 * SyntaxError) whose message names `file` when there is one.
 */
export function namedError(run: () => unknown, file?: string): Error {
  let thrown: unknown;
  try {
    run();
  } catch (error) {
    thrown = error;
  }
  return expectNamed(thrown, file);
}

/** As {@link namedError}, for a promise that must reject. */
export async function namedRejection(promise: Promise<unknown>, file?: string): Promise<Error> {
  let thrown: unknown;
  await promise.catch((error: unknown) => (thrown = error));
  return expectNamed(thrown, file);
}

/** `thrown`, which must be a named error whose message names `file` when there is one. */
export function expectNamed(thrown: unknown, file?: string): Error {
  expect(thrown, 'expected an error').toBeInstanceOf(Error);
  const error = thrown as Error;
  expect(GENERIC, `${error.name}: ${error.message}`).not.toContain(error.name);
  if (file !== undefined) expect(error.message).toContain(file);
  return error;
}

/**
 * The error `load` rejects with, and the longest Float32Array or Float64Array allocated meanwhile (the
 * constructors are wrapped for the call): a bad config must be refused before anything large exists.
 */
export async function largestArrayWhile(
  load: () => Promise<unknown>,
): Promise<{ error: Error; largest: number }> {
  const global = globalThis as Record<string, unknown>;
  const originals = { Float32Array, Float64Array };
  let largest = 0;
  for (const [name, Base] of Object.entries(originals))
    global[name] = new Proxy(Base, {
      construct(target, args: unknown[]) {
        if (typeof args[0] === 'number') largest = Math.max(largest, args[0]);
        return Reflect.construct(target, args) as object;
      },
    });
  try {
    return { error: await namedRejection(load()), largest };
  } finally {
    Object.assign(global, originals);
  }
}
