/** A file that cannot be what it claims to be: truncated, inconsistent or malformed. */
export class CorruptFileError extends Error {
  override name = 'CorruptFileError';
  constructor(
    readonly path: string,
    readonly problem: string,
  ) {
    super(`${path}: ${problem}`);
  }
}

/** A file that is missing, is not a regular file, or that the process may not read. */
export class UnreadableFileError extends Error {
  override name = 'UnreadableFileError';
  constructor(
    readonly path: string,
    readonly problem: string,
  ) {
    super(`${path}: ${problem}`);
  }
}

/** A well-formed tensor whose element type reverie cannot turn into float32. */
export class UnsupportedDtypeError extends Error {
  override name = 'UnsupportedDtypeError';
  constructor(
    readonly path: string,
    readonly tensor: string,
    readonly dtype: string,
    readonly supported: readonly string[],
  ) {
    super(`${path}: tensor '${tensor}' has dtype ${dtype}; expected one of ${supported.join(', ')}`);
  }
}

export class UnsupportedArchitectureError extends Error {
  override name = 'UnsupportedArchitectureError';
  constructor(
    readonly found: string,
    readonly supported: readonly string[],
    readonly source = 'config.json',
  ) {
    super(`${source}: architecture ${found} is not supported; supported: ${supported.join(', ')}`);
  }
}

/** A config field that is missing or has the wrong type or value. */
export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(
    readonly source: string,
    readonly field: string,
    readonly expected: string,
    readonly got: unknown,
  ) {
    super(`${source}: expected ${field} to be ${expected}, got ${describe(got)}`);
  }
}

export class ModelNotFoundError extends Error {
  override name = 'ModelNotFoundError';
  constructor(
    readonly id: string,
    readonly looked: readonly string[],
    readonly reason = 'not found',
  ) {
    super(`model '${id}' ${reason}; looked in:\n${looked.map((p) => `  - ${p}`).join('\n')}`);
  }
}

export class DownloadError extends Error {
  override name = 'DownloadError';
  constructor(
    readonly url: string,
    readonly problem: string,
  ) {
    super(`download of ${url} failed: ${problem}`);
  }
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing (field missing)';
  const json = JSON.stringify(value);
  return json.length > 80 ? `${json.slice(0, 77)}...` : json;
}
