import { LineCounter, Scalar, isScalar, parseDocument, type Document, type Node as YamlNode } from 'yaml';
import type { Diagnostic } from '../model/diagnostic.js';
import { CODES } from '../codes.js';

/**
 * One spec file parsed with the `yaml` package (JSON is YAML 1.2 flow, so one parser serves
 * both), keeping source ranges so that a value can be traced back to its line and column.
 */
export interface SourceFile {
  /** Absolute file path, or the URL for a remote $ref. */
  key: string;
  /** How diagnostics name the file. */
  display: string;
  text: string;
  doc: Document.Parsed;
  lines: LineCounter;
}

export interface Position {
  line: number;
  column: number;
}

export function parseSourceFile(key: string, display: string, text: string): { file: SourceFile; diagnostics: Diagnostic[] } {
  const lines = new LineCounter();
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  // `merge` keeps YAML 1.1 `<<: *anchor` working, which hand-written specs still use.
  const doc = parseDocument(body, { lineCounter: lines, prettyErrors: false, merge: true, uniqueKeys: true });
  const file: SourceFile = { key, display, text: body, doc, lines };
  const diagnostics: Diagnostic[] = [];
  for (const [severity, list] of [['error', doc.errors], ['warning', doc.warnings]] as const) {
    for (const e of list) {
      const pos = positionAt(file, e.pos[0]);
      diagnostics.push({
        code: CODES.syntax,
        severity,
        message: `${isJson(key) ? 'JSON' : 'YAML'} syntax: ${e.message}`,
        file: display,
        line: pos.line,
        column: pos.column,
      });
    }
  }
  return { file, diagnostics };
}

function isJson(key: string): boolean {
  return key.toLowerCase().endsWith('.json');
}

export function positionAt(file: SourceFile, offset: number): Position {
  const p = file.lines.linePos(offset);
  return { line: p.line, column: p.col };
}

/**
 * Position of the character at `offset` inside a string scalar's value, when the value can be
 * mapped back to the source exactly: a one-line plain or quoted scalar (escapes included), or a
 * literal block (`|`). Otherwise undefined, and callers point at the value's start.
 */
export function positionInScalar(file: SourceFile, node: YamlNode, offset: number): Position | undefined {
  if (!isScalar(node) || typeof node.value !== 'string' || !node.range) return undefined;
  const value = node.value;
  const at = Math.max(0, Math.min(offset, value.length));
  const [start, end] = node.range;
  const raw = file.text.slice(start, end);
  switch (node.type) {
    case Scalar.PLAIN:
      if (raw.includes('\n') || raw !== value) return undefined;
      return positionAt(file, start + at);
    case Scalar.QUOTE_DOUBLE:
    case Scalar.QUOTE_SINGLE: {
      if (raw.includes('\n')) return undefined;
      const inner = mapQuoted(raw.slice(1, -1), node.type === Scalar.QUOTE_DOUBLE, value, at);
      return inner === undefined ? undefined : positionAt(file, start + 1 + inner);
    }
    case Scalar.BLOCK_LITERAL:
      return positionInLiteralBlock(file, raw, start, value, at);
    default:
      return undefined;
  }
}

/** Maps an offset in the decoded value to the offset in the quoted source, walking over escapes. */
function mapQuoted(raw: string, double: boolean, value: string, at: number): number | undefined {
  let v = 0;
  let r = 0;
  while (r < raw.length && v < at) {
    const c = raw[r]!;
    if (double && c === '\\') {
      const e = raw[r + 1];
      const width = e === 'x' ? 4 : e === 'u' ? 6 : e === 'U' ? 10 : 2;
      const produced = e === 'U' ? String.fromCodePoint(parseInt(raw.slice(r + 2, r + 10), 16) || 0).length : 1;
      r += width;
      v += produced;
    } else if (!double && c === "'" && raw[r + 1] === "'") {
      r += 2;
      v += 1;
    } else {
      r += 1;
      v += 1;
    }
  }
  // Only trust the mapping if it lands exactly (a surprise escape would shift everything after it).
  return v === at && r <= raw.length && value.length >= at ? r : undefined;
}

function positionInLiteralBlock(file: SourceFile, raw: string, start: number, value: string, at: number): Position | undefined {
  const before = value.slice(0, at);
  const lineInValue = before.split('\n').length - 1;
  const columnInLine = at - (before.lastIndexOf('\n') + 1);
  const sourceLines = raw.split('\n');
  // sourceLines[0] is the `|` header; content lines follow with a common indentation.
  const content = sourceLines.slice(1);
  const indent = content.find((l) => l.trim() !== '')?.match(/^ */)?.[0].length ?? 0;
  const target = content[lineInValue];
  const expected = value.split('\n')[lineInValue];
  if (target === undefined || expected === undefined || target.slice(indent) !== expected) return undefined;
  let offset = start + sourceLines[0]!.length + 1;
  for (let i = 0; i < lineInValue; i++) offset += content[i]!.length + 1;
  return positionAt(file, offset + indent + columnInLine);
}
