import { CorruptFileError } from '../io/errors.ts';
import { readFileBytes } from '../io/files.ts';
import type { EncodeOptions, Tokenizer } from './tokenizer.ts';

const UNK = 0;
const BOS = 1;
const EOS = 2;
const BYTE_PIECE = /^<0x([0-9A-Fa-f]{2})>$/;

/**
 * The SentencePiece-BPE tokenizer of llama2.c (`tokenizer.bin`: int32 max_token_length, then per token
 * float32 score, int32 length, bytes), ported from karpathy/llama2.c run.c `encode()` and `decode()`.
 */
export class Llama2cTokenizer implements Tokenizer {
  readonly bosId = BOS;
  readonly eosId = EOS;
  readonly specialIds = [UNK, BOS, EOS];
  readonly addsBosByDefault = true;
  /** Each piece as a byte string: one char per byte, so concatenation and lookup are byte-exact. */
  private readonly pieces: string[];
  private readonly lookup = new Map<string, number>();
  /** For `<0xXX>` pieces, the raw byte; -1 otherwise. */
  private readonly byteOf: Int16Array;

  constructor(
    pieces: Uint8Array[],
    private readonly scores: Float32Array,
    readonly maxTokenLength: number,
  ) {
    this.pieces = pieces.map(latin1);
    this.byteOf = new Int16Array(pieces.length).fill(-1);
    this.pieces.forEach((p, id) => {
      if (!this.lookup.has(p)) this.lookup.set(p, id);
      const m = BYTE_PIECE.exec(p);
      if (m) this.byteOf[id] = parseInt(m[1]!, 16);
    });
  }

  get vocabSize(): number {
    return this.pieces.length;
  }

  static parse(bytes: Uint8Array, label = 'tokenizer.bin'): Llama2cTokenizer {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const corrupt = (problem: string) => new CorruptFileError(label, problem);
    if (bytes.byteLength < 4)
      throw corrupt(`file is ${bytes.byteLength} bytes; expected an int32 max_token_length`);
    const maxTokenLength = view.getInt32(0, true);
    const pieces: Uint8Array[] = [];
    const scores: number[] = [];
    let at = 4;
    while (at < bytes.byteLength) {
      if (at + 8 > bytes.byteLength)
        throw corrupt(`token ${pieces.length}: record header cut off at byte ${at}`);
      const len = view.getInt32(at + 4, true);
      if (len < 0 || at + 8 + len > bytes.byteLength) {
        throw corrupt(
          `token ${pieces.length} claims ${len} bytes at byte ${at + 8}, beyond the end of the file`,
        );
      }
      scores.push(view.getFloat32(at, true));
      pieces.push(bytes.slice(at + 8, at + 8 + len));
      at += 8 + len;
    }
    if (pieces.length <= EOS)
      throw corrupt(`holds ${pieces.length} tokens; expected at least <unk>, <s>, </s>`);
    return new Llama2cTokenizer(pieces, Float32Array.from(scores), maxTokenLength);
  }

  static read(path: string): Llama2cTokenizer {
    return Llama2cTokenizer.parse(readFileBytes(path), path);
  }

  encode(text: string, opts: EncodeOptions = {}): number[] {
    const tokens: number[] = [];
    if (opts.bos ?? this.addsBosByDefault) tokens.push(BOS);
    const bytes = new TextEncoder().encode(text);
    // SentencePiece's add_dummy_prefix: a leading space, only for non-empty text.
    if (bytes.length > 0) tokens.push(this.lookup.get(' ') ?? UNK);
    // One UTF-8 codepoint at a time (at most 4 bytes): its piece, or byte fallback <0xXX> = id byte + 3.
    let start = 0;
    for (let i = 0; i < bytes.length; i++) {
      if ((bytes[i]! & 0xc0) !== 0x80) start = i;
      const next = bytes[i + 1];
      if (next !== undefined && (next & 0xc0) === 0x80 && i + 1 - start < 4) continue;
      const id = this.lookup.get(latin1(bytes.subarray(start, i + 1)));
      if (id !== undefined) tokens.push(id);
      else for (let j = start; j <= i; j++) tokens.push(bytes[j]! + 3);
      start = i + 1;
    }
    this.merge(tokens);
    return tokens;
  }

  /**
   * run.c's merge loop: repeatedly replace the adjacent pair whose concatenation is the best-scoring piece
   * (score above -1e10; the leftmost pair on ties) by that piece. Done with a heap over a linked list,
   * O(n log n) instead of run.c's O(n²), same result: list order is index order, so the leftmost pair is
   * the one with the smallest left index.
   */
  private merge(tokens: number[]): void {
    const n = tokens.length;
    const next = Int32Array.from({ length: n }, (_, i) => (i + 1 < n ? i + 1 : -1));
    const prev = Int32Array.from({ length: n }, (_, i) => i - 1);
    const alive = new Uint8Array(n).fill(1);
    const heap = new PairHeap();
    const push = (left: number) => {
      const right = next[left]!;
      if (right < 0) return;
      const id = this.lookup.get(this.pieces[tokens[left]!]! + this.pieces[tokens[right]!]!);
      if (id !== undefined && this.scores[id]! > -1e10) {
        heap.push({
          score: this.scores[id]!,
          left,
          right,
          leftTok: tokens[left]!,
          rightTok: tokens[right]!,
          id,
        });
      }
    };
    for (let i = 0; i + 1 < n; i++) push(i);
    for (let m = heap.pop(); m; m = heap.pop()) {
      const { left, right } = m;
      const stale =
        !alive[left] ||
        !alive[right] ||
        next[left] !== right ||
        tokens[left] !== m.leftTok ||
        tokens[right] !== m.rightTok;
      if (stale) continue;
      tokens[left] = m.id;
      alive[right] = 0;
      next[left] = next[right]!;
      if (next[right]! >= 0) prev[next[right]!] = left;
      if (prev[left]! >= 0) push(prev[left]!);
      push(left);
    }
    let w = 0;
    for (let i = 0; i < n; i++) if (alive[i]) tokens[w++] = tokens[i]!;
    tokens.length = w;
  }

  /**
   * Bytes of all pieces, then UTF-8 decoding. As in run.c, the leading space of a piece after BOS is
   * dropped; so is that of the first piece (SentencePiece drops the dummy prefix). Special ids give no text.
   */
  decode(ids: number[]): string {
    const out: number[] = [];
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      this.check(id);
      if (this.specialIds.includes(id)) continue;
      const byte = this.byteOf[id]!;
      if (byte >= 0) {
        out.push(byte);
        continue;
      }
      const piece = this.pieces[id]!;
      const skip = (i === 0 || ids[i - 1] === BOS) && piece.startsWith(' ') ? 1 : 0;
      for (let k = skip; k < piece.length; k++) out.push(piece.charCodeAt(k));
    }
    return new TextDecoder().decode(Uint8Array.from(out));
  }

  decodeToken(id: number): string {
    this.check(id);
    const byte = this.byteOf[id]!;
    if (byte >= 0) return byte >= 0x20 && byte < 0x7f ? String.fromCharCode(byte) : this.pieces[id]!;
    const text = new TextDecoder().decode(Uint8Array.from(this.pieces[id]!, (c) => c.charCodeAt(0)));
    return this.specialIds.includes(id) ? text.trim() : text;
  }

  private check(id: number): void {
    if (!(Number.isInteger(id) && id >= 0 && id < this.pieces.length)) {
      throw new RangeError(`token id ${id} is outside the vocabulary [0, ${this.pieces.length})`);
    }
  }
}

function latin1(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 8192) s += String.fromCharCode(...bytes.subarray(i, i + 8192));
  return s;
}

interface Pair {
  score: number;
  left: number;
  right: number;
  leftTok: number;
  rightTok: number;
  id: number;
}

/** Binary max-heap on score, then min on left index. */
class PairHeap {
  private readonly items: Pair[] = [];

  private before(a: Pair, b: Pair): boolean {
    return a.score > b.score || (a.score === b.score && a.left < b.left);
  }

  push(p: Pair): void {
    const h = this.items;
    h.push(p);
    for (let i = h.length - 1; i > 0;) {
      const parent = (i - 1) >> 1;
      if (!this.before(h[i]!, h[parent]!)) break;
      [h[i], h[parent]] = [h[parent]!, h[i]!];
      i = parent;
    }
  }

  pop(): Pair | undefined {
    const h = this.items;
    const top = h[0];
    const last = h.pop();
    if (h.length === 0 || !last) return top;
    h[0] = last;
    for (let i = 0; ;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let best = i;
      if (l < h.length && this.before(h[l]!, h[best]!)) best = l;
      if (r < h.length && this.before(h[r]!, h[best]!)) best = r;
      if (best === i) break;
      [h[i], h[best]] = [h[best]!, h[i]!];
      i = best;
    }
    return top;
  }
}
