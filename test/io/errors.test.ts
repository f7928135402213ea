import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  CorruptFileError,
  DownloadError,
  ModelNotFoundError,
  UnsupportedArchitectureError,
  UnsupportedDtypeError,
} from '../../src/io/errors.ts';

describe('the io errors', () => {
  it('carry their class name, so logs and catch sites can tell them apart', () => {
    const errors = [
      new CorruptFileError('f', 'p'),
      new UnsupportedDtypeError('f', 't', 'I8', ['F32']),
      new UnsupportedArchitectureError('X', ['Y']),
      new ConfigError('c', 'k', 'a string', 1),
      new ModelNotFoundError('m', ['a']),
      new DownloadError('u', 'p'),
    ];
    for (const e of errors) {
      expect(e).toBeInstanceOf(Error);
      expect(e.name).toBe(e.constructor.name);
      expect(String(e)).toMatch(new RegExp(`^${e.constructor.name}: `));
    }
  });

  it('list every place a missing model was looked for, one per line', () => {
    const e = new ModelNotFoundError('a/b', ['/models/a/b', '/cache/a/b'], 'not found offline');
    expect(e.message).toBe("model 'a/b' not found offline; looked in:\n  - /models/a/b\n  - /cache/a/b");
  });
});
