import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  BinaryCorpusError,
  CorpusFormatError,
  CorpusNotFoundError,
  EmptyCorpusError,
  readDocuments,
} from '../../src/data/corpus.ts';

const dir = mkdtempSync(join(tmpdir(), 'reverie-corpus-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, content: string | Uint8Array): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

async function documents(path: string): Promise<string[]> {
  const out: string[] = [];
  for await (const d of readDocuments(path)) out.push(d.text);
  return out;
}

describe('reading a corpus', () => {
  it('splits plain text into documents at blank lines, whatever the line endings', async () => {
    const path = file('stories.txt', 'One day.\nA cat sat.\n\n\n  \nThe end.\r\n\r\nLast one');
    expect(await documents(path)).toEqual(['One day.\nA cat sat.', 'The end.', 'Last one']);
  });

  it('reads JSONL by its extension or its first line, skipping blank lines and empty texts', async () => {
    const lines = ['{"text": "first story", "id": 1}', '', '{"text": "  "}', '{"text": "second\\n\\nstory"}'];
    expect(await documents(file('a.jsonl', lines.join('\n')))).toEqual(['first story', 'second\n\nstory']);
    expect(await documents(file('b.txt', lines.join('\n')))).toEqual(['first story', 'second\n\nstory']);
  });

  it('keeps multi-byte characters whole across the reader’s 64 KiB chunks', async () => {
    const paragraph = 'Ünïcödé ✨ x' + 'é'.repeat(40_000); // 17 bytes, then 2-byte é: a chunk ends mid-é
    const text = [paragraph, paragraph, paragraph].join('\n\n');
    expect(await documents(file('big.txt', text))).toEqual([paragraph, paragraph, paragraph]);
  });

  it('names a missing file, a directory, an empty or blank file, and a binary one', async () => {
    await expect(documents(join(dir, 'nope.txt'))).rejects.toThrow(CorpusNotFoundError);
    mkdirSync(join(dir, 'folder'), { recursive: true });
    await expect(documents(join(dir, 'folder'))).rejects.toThrow(CorpusNotFoundError);
    await expect(documents(file('empty.txt', ''))).rejects.toThrow(EmptyCorpusError);
    await expect(documents(file('blank.txt', '\n  \n\t\n'))).rejects.toThrow(EmptyCorpusError);
    await expect(documents(file('empty.jsonl', '{"text": ""}\n'))).rejects.toThrow(EmptyCorpusError);
    const nul = file('model.bin', Uint8Array.of(0x4f, 0x6e, 0x63, 0x65, 0x00, 0x01, 0x02));
    await expect(documents(nul)).rejects.toThrow(BinaryCorpusError);
    await expect(documents(nul)).rejects.toThrow(/NUL byte at offset 4/);
    const latin1 = file('latin1.txt', Uint8Array.of(0x63, 0x61, 0x66, 0xe9, 0x20, 0x6f, 0x6b));
    await expect(documents(latin1)).rejects.toThrow(BinaryCorpusError);
  });

  it('names a JSONL line that is not an object with a string text, with its line number', async () => {
    const path = file('bad.jsonl', '{"text": "fine"}\n{"body": "no text"}\n');
    await expect(documents(path)).rejects.toThrow(CorpusFormatError);
    await expect(documents(path)).rejects.toThrow(/line 2 is not a JSON object with a string "text"/);
    await expect(documents(file('broken.jsonl', '{"text": "a"}\n{oops\n'))).rejects.toThrow(
      /line 2 is not JSON/,
    );
  });
});
