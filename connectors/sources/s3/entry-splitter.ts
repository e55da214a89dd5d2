import type { LineItem } from '../file/line-reader.js';

/** An entry and where reading stands after it (the line the next byte is on), for the checkpoint. */
export type EntryItem = LineItem & { nextLine: number };

/** A byte offset in the (decompressed) object and the 1-based line it is on. */
export interface ObjectPosition {
  byte: number;
  line: number;
}

const [NEWLINE, QUOTE, BACKSLASH, SPACE, TAB, CR] = [10, 34, 92, 32, 9, 13];
const [OPEN_BRACE, CLOSE_BRACE, OPEN_BRACKET, CLOSE_BRACKET] = [123, 125, 91, 93];

/**
 * Splits an object's bytes into entries as they stream by: NDJSON lines, and Firehose's JSON values
 * written back to back with no separator (`}{`, `}\n{`). A value ends where its closing brace
 * brings the nesting depth back to 0 (braces inside JSON strings do not count) or at a newline,
 * whichever comes first, so a truncated line costs only itself. Works on bytes: UTF-8 never puts
 * these ASCII bytes inside a multi-byte character. An entry longer than `maxEntryBytes` is reported
 * as `tooLong` and never held in memory.
 */
export class EntrySplitter {
  private pos: number;
  private line: number;
  private depth = 0;
  private inString = false;
  private escaped = false;
  /** Start of the open entry, or -1 between entries. */
  private start = -1;
  private startLine = 0;
  private parts: Buffer[] = [];
  private partBytes = 0;
  private tooLong = false;

  /**
   * @param from where the entries to return begin (a checkpoint), at an entry boundary
   * @param streamStart offset of the first byte pushed: `from.byte` for a ranged read, 0 when the
   *   object is read again from the start (gzip) and the bytes before `from` are skipped
   */
  constructor(
    private readonly maxEntryBytes: number,
    private readonly from: ObjectPosition,
    streamStart: number,
  ) {
    this.pos = streamStart;
    this.line = from.line;
  }

  /** Entries completed by this chunk. */
  push(chunk: Buffer): EntryItem[] {
    let buf = chunk;
    if (this.pos < this.from.byte) {
      const skip = Math.min(buf.length, this.from.byte - this.pos);
      this.pos += skip;
      buf = buf.subarray(skip);
      if (buf.length === 0) return [];
    }
    const out: EntryItem[] = [];
    const base = this.pos;
    let openedAt = this.start === -1 ? -1 : 0; // where the open entry's bytes begin within this chunk
    // Next quote, backslash and newline at or after i (buf.length: none), found natively: most bytes of a
    // log entry are inside strings, and nothing inside a string matters but these three.
    let nextQuote = -1;
    let nextBackslash = -1;
    let nextNewline = -1;
    for (let i = 0; i < buf.length; i++) {
      const b = buf[i]!;
      if (b === NEWLINE) {
        this.line++;
        if (this.start !== -1) this.emit(out, buf, openedAt, i, base + i + 1);
        this.resetValue();
        openedAt = -1;
        continue;
      }
      if (this.start === -1) {
        if (b === SPACE || b === TAB || b === CR) continue;
        this.start = base + i;
        this.startLine = this.line;
        openedAt = i;
      }
      if (this.inString && !this.escaped && b !== QUOTE && b !== BACKSLASH) {
        if (nextQuote < i) nextQuote = indexOrEnd(buf, QUOTE, i);
        if (nextBackslash < i) nextBackslash = indexOrEnd(buf, BACKSLASH, i);
        if (nextNewline < i) nextNewline = indexOrEnd(buf, NEWLINE, i);
        i = Math.min(nextQuote, nextBackslash, nextNewline) - 1; // the loop's i++ lands on it
        continue;
      }
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (b === BACKSLASH) this.escaped = true;
        else if (b === QUOTE) this.inString = false;
      } else if (b === QUOTE) this.inString = true;
      else if (b === OPEN_BRACE || b === OPEN_BRACKET) this.depth++;
      else if ((b === CLOSE_BRACE || b === CLOSE_BRACKET) && this.depth > 0 && --this.depth === 0) {
        this.emit(out, buf, openedAt, i + 1, base + i + 1);
        this.resetValue();
        openedAt = -1;
      }
    }
    if (this.start !== -1) this.keep(buf.subarray(openedAt === -1 ? 0 : openedAt));
    this.pos += buf.length;
    return out;
  }

  /** The last entry when the object does not end with a newline. */
  end(): EntryItem[] {
    const out: EntryItem[] = [];
    if (this.start !== -1) this.emit(out, Buffer.alloc(0), 0, 0, this.pos);
    this.resetValue();
    return out;
  }

  private keep(bytes: Buffer): void {
    this.partBytes += bytes.length;
    if (this.tooLong) return;
    if (this.partBytes > this.maxEntryBytes) {
      this.tooLong = true;
      this.parts = [];
    } else if (bytes.length > 0) this.parts.push(Buffer.from(bytes)); // a copy: the chunk's memory is the stream's
  }

  private emit(out: EntryItem[], buf: Buffer, from: number, to: number, next: number): void {
    const [line, nextLine] = [this.startLine, this.line];
    if (this.parts.length === 0 && !this.tooLong && to - from <= this.maxEntryBytes) {
      // The common case, an entry within one chunk: decoded straight from it, no copy.
      out.push({ kind: 'line', text: buf.toString('utf8', from, to).trimEnd(), line, start: this.start, next, nextLine });
      return;
    }
    this.keep(buf.subarray(from, to));
    if (this.tooLong) out.push({ kind: 'tooLong', line, start: this.start, next, bytes: this.partBytes, nextLine });
    else out.push({ kind: 'line', text: Buffer.concat(this.parts).toString('utf8').trimEnd(), line, start: this.start, next, nextLine });
  }

  private resetValue(): void {
    this.start = -1;
    this.depth = 0;
    this.inString = false;
    this.escaped = false;
    this.parts = [];
    this.partBytes = 0;
    this.tooLong = false;
  }
}

function indexOrEnd(buf: Buffer, byte: number, from: number): number {
  const at = buf.indexOf(byte, from);
  return at === -1 ? buf.length : at;
}
