import type { FileHandle } from 'node:fs/promises';

/** A complete line of the file (without its newline), or a line longer than the limit, which is never held in memory. */
export type LineItem =
  | { kind: 'line'; text: string; line: number; start: number; next: number }
  | { kind: 'tooLong'; line: number; start: number; next: number; bytes: number };

/** Where reading stands: the byte offset of the next line and how many lines lie before it (null: not known). */
export interface FilePosition {
  offset: number;
  line: number | null;
}

export interface Batch {
  items: LineItem[];
  /** Position after the batch's last line: the checkpoint to commit with it. */
  next: FilePosition;
}

const NEWLINE = 10;

/**
 * Reads complete lines from `from` up to `size` in reads of at most `maxLineBytes + 1` bytes, so a
 * backlog of any size is caught up in bounded memory. Each batch ends at a line boundary and holds
 * at most `batchLines` lines. A trailing line without its newline is left for the next call.
 */
export async function* readLines(
  fh: FileHandle,
  from: FilePosition,
  size: number,
  options: { maxLineBytes: number; batchLines: number; stopped: () => boolean },
): AsyncGenerator<Batch> {
  const cap = options.maxLineBytes + 1;
  // No bigger than what there is to read (a poll that finds one new line needs no 10 MiB buffer).
  const buf = Buffer.allocUnsafe(Math.min(cap, Math.max(size - from.offset, 64 * 1024)));
  let pos = from.offset;
  let line = from.line ?? (await countLines(fh, pos, buf));
  while (pos < size && !options.stopped()) {
    const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, size - pos), pos);
    if (bytesRead === 0) return;
    const view = buf.subarray(0, bytesRead);
    let start = 0;
    let items: LineItem[] = [];
    for (let nl = view.indexOf(NEWLINE, start); nl !== -1; nl = view.indexOf(NEWLINE, start)) {
      line++;
      items.push({ kind: 'line', text: view.toString('utf8', start, nl), line, start: pos + start, next: pos + nl + 1 });
      start = nl + 1;
      if (items.length >= options.batchLines) {
        yield { items, next: { offset: pos + start, line } };
        items = [];
        if (options.stopped()) return;
      }
    }
    if (items.length > 0) yield { items, next: { offset: pos + start, line } };
    if (start > 0) {
      pos += start;
      continue;
    }
    if (bytesRead < cap) return; // the last line is not complete yet
    // No newline within the limit: skip the line without keeping it, up to its end (once it has one).
    const end = await findNewline(fh, pos + bytesRead, size, buf);
    if (end === -1) return;
    line++;
    yield { items: [{ kind: 'tooLong', line, start: pos, next: end + 1, bytes: end - pos }], next: { offset: end + 1, line } };
    pos = end + 1;
  }
}

async function findNewline(fh: FileHandle, from: number, size: number, buf: Buffer): Promise<number> {
  for (let pos = from; pos < size; ) {
    const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, size - pos), pos);
    if (bytesRead === 0) return -1;
    const nl = buf.subarray(0, bytesRead).indexOf(NEWLINE);
    if (nl !== -1) return pos + nl;
    pos += bytesRead;
  }
  return -1;
}

/** Lines before `upTo`, for a checkpoint written before checkpoints carried the line number. */
async function countLines(fh: FileHandle, upTo: number, buf: Buffer): Promise<number> {
  let count = 0;
  for (let pos = 0; pos < upTo; ) {
    const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, upTo - pos), pos);
    if (bytesRead === 0) break;
    for (let i = buf.indexOf(NEWLINE, 0); i !== -1 && i < bytesRead; i = buf.indexOf(NEWLINE, i + 1)) count++;
    pos += bytesRead;
  }
  return count;
}
