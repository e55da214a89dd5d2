import { parse as parseTolerant, type ParseError } from 'jsonc-parser';
import { PayloadError } from './types.js';

/** JSON.parse with the position turned into line:column, for 400 answers and CLI errors. */
export function parseJson(text: string, where = 'payload'): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    const message = (err as Error).message;
    const offset = errorOffset(text, message);
    if (offset !== null) {
      const { line, column } = lineColumn(text, offset);
      throw new PayloadError(`malformed JSON in ${where} at line ${line} column ${column}: ${message}`, line, column);
    }
    throw new PayloadError(`malformed JSON in ${where}: ${message}`);
  }
}

/**
 * V8 gives a position for some syntax errors only ("Unexpected token 'o', ...is not valid JSON" has
 * none), so on this error path a tolerant parser finds where the text stops being JSON.
 */
function errorOffset(text: string, message: string): number | null {
  const pos = /position (\d+)/.exec(message);
  if (pos) return Number(pos[1]);
  const errors: ParseError[] = [];
  parseTolerant(text, errors, { disallowComments: true, allowTrailingComma: false });
  return errors[0]?.offset ?? null;
}


export function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

/**
 * Splits NDJSON into parsed values. A malformed line rejects the whole payload with its line number,
 * so a half-read batch is never stored.
 */
export function parseNdjson(text: string): Array<{ value: unknown; line: number }> {
  const out: Array<{ value: unknown; line: number }> = [];
  let start = 0;
  let line = 0;
  while (start <= text.length) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    line++;
    const chunk = text.slice(start, end).trim();
    if (chunk.length > 0) {
      try {
        out.push({ value: JSON.parse(chunk) as unknown, line });
      } catch (err) {
        const message = (err as Error).message;
        const offset = errorOffset(chunk, message);
        const column = offset !== null ? offset + 1 + (text.slice(start, end).length - text.slice(start, end).trimStart().length) : undefined;
        throw new PayloadError(`malformed JSON on line ${line}${column ? ` column ${column}` : ''}: ${message}`, line, column);
      }
    }
    start = end + 1;
  }
  return out;
}
