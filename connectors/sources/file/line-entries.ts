import { CODES, hashHex, PayloadError, type DecodedEntry, type Diagnostic, type LogFormat } from '../../../src/sdk/index.js';
import type { LineItem } from './line-reader.js';

/**
 * Turns one line of the file into entries. Each line is decoded on its own, so whatever goes wrong
 * with it (malformed JSON, a decoder that throws, a line over the limit) costs that line only: it
 * becomes a dead letter that names the file and line, and reading goes on.
 */
export function decodeLine(format: LogFormat, file: string, item: LineItem, maxLineBytes: number): DecodedEntry[] {
  if (item.kind === 'tooLong') {
    return [deadLine(file, item, {
      code: CODES.lineTooLong,
      message: `line of ${item.bytes} bytes is longer than maxLineBytes (${maxLineBytes}); it was skipped without being read (byte offset ${item.start})`,
    }, null)];
  }
  if (item.text.trim() === '') return [];
  let entries: DecodedEntry[];
  try {
    entries = format.decode(item.text);
  } catch (err) {
    if (err instanceof PayloadError) {
      const reason = err.message.replace(/^malformed JSON[^:]*: /, '');
      return [deadLine(file, item, { code: CODES.entryUnreadable, message: `malformed ${format.name} log line: ${reason}`, ...(err.column ? { column: err.column } : {}) }, item.text)];
    }
    return [deadLine(file, item, { code: CODES.entryUnreadable, message: `cannot read ${format.name} log line: ${(err as Error)?.message ?? String(err)}` }, item.text)];
  }
  // The format numbers lines within the payload it was given (this one line): name the file's line instead.
  return entries.map((e) => (e.ok ? e : { ...e, diagnostic: { ...e.diagnostic, file, line: item.line } }));
}

/** A line whose entries could not be stored (the store refused them, not the decoder): kept as text so the rest goes on. */
export function unstorableLine(file: string, item: LineItem, err: unknown): DecodedEntry {
  const text = item.kind === 'line' ? item.text : null;
  return deadLine(file, item, { code: CODES.processingFailed, message: `could not store the entries of this line: ${(err as Error)?.message ?? String(err)}` }, text);
}

function deadLine(file: string, item: LineItem, d: Pick<Diagnostic, 'code' | 'message' | 'column' | 'pointer'>, raw: string | null): DecodedEntry {
  return {
    ok: false,
    diagnostic: { severity: 'error', ...d, file, line: item.line },
    raw: raw ?? { file, line: item.line, byteOffset: item.start, bytes: item.next - item.start - 1 },
    // Position plus content: the same line read again (a re-sent copy) is recognised by the dedupe window.
    requestKey: `file:${hashHex(`${file}\n${item.start}\n${raw ?? ''}`, 32)}`,
  };
}
