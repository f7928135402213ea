import { createReadStream, statSync } from 'node:fs';

/** A corpus that cannot be read as text: missing, binary, empty, or a malformed JSONL line. */
export class CorpusError extends Error {
  override name = 'CorpusError';
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(`${path}: ${message}`);
  }
}

/** The corpus file does not exist, or is not a file. */
export class CorpusNotFoundError extends CorpusError {
  override name = 'CorpusNotFoundError';
}

/** The corpus holds no document: nothing but whitespace (or no `text` in any JSONL line). */
export class EmptyCorpusError extends CorpusError {
  override name = 'EmptyCorpusError';
}

/** The corpus is not UTF-8 text: a NUL byte or an invalid UTF-8 sequence, with its byte offset. */
export class BinaryCorpusError extends CorpusError {
  override name = 'BinaryCorpusError';
}

/** A JSONL line that is not a JSON object with a string `text` field. */
export class CorpusFormatError extends CorpusError {
  override name = 'CorpusFormatError';
}

export type CorpusFormat = 'text' | 'jsonl';

export interface CorpusDocument {
  text: string;
  /** Bytes of the file read so far (for progress). */
  bytesRead: number;
}

/** Size in bytes of a corpus file, or a CorpusNotFoundError. */
export function corpusSize(path: string): number {
  let size: number;
  try {
    const stat = statSync(path);
    if (!stat.isFile()) throw new CorpusNotFoundError(path, 'is not a file');
    size = stat.size;
  } catch (error) {
    if (error instanceof CorpusError) throw error;
    throw new CorpusNotFoundError(path, 'no such file');
  }
  return size;
}

/**
 * The format of a corpus: JSONL for `.jsonl`/`.ndjson` files, or when its first non-blank line is a JSON
 * object with a string `text` field; plain text otherwise.
 */
export function detectFormat(path: string, firstLine: string | undefined): CorpusFormat {
  if (/\.(jsonl|ndjson)$/i.test(path)) return 'jsonl';
  const line = firstLine?.trim();
  if (!line?.startsWith('{')) return 'text';
  try {
    const value = JSON.parse(line) as unknown;
    return isTextRecord(value) ? 'jsonl' : 'text';
  } catch {
    return 'text';
  }
}

const isTextRecord = (value: unknown): value is { text: string } =>
  typeof value === 'object' &&
  value !== null &&
  !Array.isArray(value) &&
  typeof (value as { text?: unknown }).text === 'string';

/** The lines of a file, streamed: UTF-8 checked (fatal decoding) and free of NUL bytes. */
async function* lines(path: string): AsyncGenerator<{ line: string; bytesRead: number }> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let rest = '';
  let bytesRead = 0;
  const stream = createReadStream(path, { highWaterMark: 1 << 16 });
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      const nul = chunk.indexOf(0);
      if (nul >= 0)
        throw new BinaryCorpusError(path, `not a text file: a NUL byte at offset ${bytesRead + nul}`);
      let text: string;
      try {
        text = decoder.decode(chunk, { stream: true });
      } catch {
        throw new BinaryCorpusError(
          path,
          `not a text file: invalid UTF-8 in bytes ${bytesRead}..${bytesRead + chunk.length}`,
        );
      }
      bytesRead += chunk.length;
      const parts = (rest + text).split('\n');
      rest = parts.pop() as string;
      for (const line of parts) yield { line: line.endsWith('\r') ? line.slice(0, -1) : line, bytesRead };
    }
    try {
      rest += decoder.decode();
    } catch {
      throw new BinaryCorpusError(path, `not a text file: the file ends inside a UTF-8 sequence`);
    }
  } catch (error) {
    if (error instanceof CorpusError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EISDIR') throw new CorpusNotFoundError(path, 'no such file');
    throw error;
  } finally {
    stream.destroy();
  }
  if (rest !== '') yield { line: rest, bytesRead };
}

/**
 * Streams the documents of a corpus file without holding the file: plain text splits at blank lines (a
 * document is a run of non-blank lines, joined with newlines); JSONL gives the `text` of each line.
 * Throws a named CorpusError for a missing, binary or empty file, or a malformed JSONL line.
 */
export async function* readDocuments(
  path: string,
  format?: CorpusFormat,
): AsyncGenerator<CorpusDocument, void, undefined> {
  corpusSize(path);
  let kind = format;
  let documents = 0;
  let paragraph: string[] = [];
  let lineNumber = 0;
  let bytes = 0;
  for await (const { line, bytesRead } of lines(path)) {
    lineNumber++;
    bytes = bytesRead;
    if (kind === undefined) {
      if (line.trim() === '') continue;
      kind = detectFormat(path, line);
    }
    if (kind === 'jsonl') {
      if (line.trim() === '') continue;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch (error) {
        throw new CorpusFormatError(path, `line ${lineNumber} is not JSON: ${(error as Error).message}`);
      }
      if (!isTextRecord(value))
        throw new CorpusFormatError(
          path,
          `line ${lineNumber} is not a JSON object with a string "text" field`,
        );
      if (value.text.trim() === '') continue;
      documents++;
      yield { text: value.text, bytesRead };
    } else if (line.trim() === '') {
      if (paragraph.length > 0) {
        documents++;
        yield { text: paragraph.join('\n'), bytesRead };
        paragraph = [];
      }
    } else paragraph.push(line);
  }
  if (paragraph.length > 0) {
    documents++;
    yield { text: paragraph.join('\n'), bytesRead: bytes };
  }
  if (documents === 0)
    throw new EmptyCorpusError(
      path,
      kind === 'jsonl' ? 'no JSONL line has a non-empty "text"' : 'the file holds no text (empty or blank)',
    );
}
