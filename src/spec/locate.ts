import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isAlias, isMap, isScalar, isSeq, type Node as YamlNode, type Pair } from 'yaml';
import type { Diagnostic } from '../model/diagnostic.js';
import { parsePointer, toPointer } from '../model/json-pointer.js';
import type { SourceLocation } from './types.js';
import { parseSourceFile, positionAt, positionInScalar, type SourceFile } from './source-file.js';

export interface Located extends SourceLocation {
  line: number;
  column: number;
}

export interface LocateOptions {
  /** Point at the key of the last token instead of its value (for "unknown key" errors). */
  key?: boolean;
  /** 0-based offset inside a string value (expression errors). */
  offset?: number;
}

interface Cursor {
  file: SourceFile;
  node: YamlNode | null;
  tokens: string[];
  keyNode: YamlNode | null;
}

/** Enough hops for any sane $ref chain, few enough to stop a cycle quickly. */
const MAX_REF_HOPS = 64;

/**
 * Maps JSON pointers of the dereferenced document (what swagger-parser returns) back to the
 * file, pointer, line and column where the value is written, by walking the raw parsed files
 * and following `$ref`s into other files the way the dereferencer did.
 */
export class SourceMap {
  private readonly files = new Map<string, SourceFile>();
  readonly rootKey: string;

  constructor(rootFile: string) {
    this.rootKey = resolve(rootFile);
  }

  /** Parses (once) and remembers a file; used by the dereferencer's parser plugin too. */
  add(key: string, text: string): { file: SourceFile; diagnostics: Diagnostic[] } {
    const known = this.files.get(key);
    if (known) return { file: known, diagnostics: [] };
    const parsed = parseSourceFile(key, displayPath(key), text);
    this.files.set(key, parsed.file);
    return parsed;
  }

  get(key: string): SourceFile | undefined {
    return this.files.get(key) ?? this.loadFromDisk(key);
  }

  get rootDisplay(): string {
    return displayPath(this.rootKey);
  }

  /** Best effort: the deepest existing node on the way when the pointer does not exist in the files. */
  locate(pointer: string, options: LocateOptions = {}): Located {
    const root = this.get(this.rootKey);
    if (!root) return { file: this.rootDisplay, pointer, line: 1, column: 1 };
    const cursor = this.walk({ file: root, node: root.doc.contents, tokens: [], keyNode: null }, parsePointer(pointer)).cursor;
    return this.position(cursor, options);
  }

  /** The raw value written at a pointer, as the file has it (e.g. a `$ref` string). */
  rawValue(pointer: string): unknown {
    const root = this.get(this.rootKey);
    if (!root) return undefined;
    const { cursor, complete } = this.walk({ file: root, node: root.doc.contents, tokens: [], keyNode: null }, parsePointer(pointer));
    if (!complete || !cursor.node) return undefined;
    const node = deAlias(cursor.file, cursor.node);
    return isScalar(node) ? node.value : node?.toJSON();
  }

  private position(cursor: Cursor, options: LocateOptions): Located {
    const { file } = cursor;
    const base = { file: file.display, pointer: toPointer(cursor.tokens) };
    const anchor = options.key && cursor.keyNode ? cursor.keyNode : (cursor.node ?? cursor.keyNode);
    if (!anchor?.range) return { ...base, line: 1, column: 1 };
    if (options.offset !== undefined && !options.key && cursor.node) {
      const inside = positionInScalar(file, cursor.node, options.offset);
      if (inside) return { ...base, ...inside };
    }
    return { ...base, ...positionAt(file, anchor.range[0]) };
  }

  private walk(start: Cursor, tokens: string[], hops = { left: MAX_REF_HOPS }): { cursor: Cursor; complete: boolean } {
    let cursor = start;
    for (const token of tokens) {
      let node = deAlias(cursor.file, cursor.node);
      let pair = childOf(cursor.file, node, token);
      // A key written next to `$ref` wins (OpenAPI 3.1 summary/description); otherwise follow the ref.
      while (!pair && isMap(node) && hops.left-- > 0) {
        const target = this.follow(cursor.file, refOf(node), hops);
        if (!target) break;
        cursor = target;
        node = deAlias(cursor.file, cursor.node);
        pair = childOf(cursor.file, node, token);
      }
      if (!pair) return { cursor, complete: false };
      cursor = { file: cursor.file, node: (pair.value as YamlNode | null) ?? null, tokens: [...cursor.tokens, token], keyNode: pair.key as YamlNode };
    }
    return { cursor, complete: true };
  }

  private follow(from: SourceFile, ref: string | undefined, hops: { left: number }): Cursor | undefined {
    if (ref === undefined) return undefined;
    const hash = ref.indexOf('#');
    const filePart = hash < 0 ? ref : ref.slice(0, hash);
    const fragment = hash < 0 ? '' : ref.slice(hash);
    const file = filePart === '' ? from : this.get(resolveRef(from.key, filePart));
    if (!file) return undefined;
    let tokens: string[];
    try {
      tokens = parsePointer(fragment);
    } catch {
      return undefined; // `$ref: '#anchor'` style targets are not pointers; stop at the $ref
    }
    const { cursor, complete } = this.walk({ file, node: file.doc.contents, tokens: [], keyNode: null }, tokens, hops);
    return complete ? cursor : undefined;
  }

  private loadFromDisk(key: string): SourceFile | undefined {
    if (!isAbsolute(key)) return undefined;
    try {
      return this.add(key, readFileSync(key, 'utf8')).file;
    } catch {
      return undefined;
    }
  }
}

function deAlias(file: SourceFile, node: YamlNode | null): YamlNode | null {
  let n: unknown = node;
  for (let i = 0; i < 16 && isAlias(n); i++) n = n.resolve(file.doc);
  return (n as YamlNode | undefined) ?? null;
}

function childOf(file: SourceFile, node: YamlNode | null, token: string): Pair | undefined {
  if (isMap(node)) {
    for (const pair of node.items) {
      const k = pair.key;
      if (isScalar(k) ? typeof k.value !== 'symbol' && String(k.value) === token : String(k) === token) return pair as Pair;
    }
    // YAML merge keys (`<<: *base`): look in the merged maps, nearest first.
    for (const pair of node.items) {
      if (!isScalar(pair.key) || typeof pair.key.value !== 'symbol') continue;
      const sources = isSeq(pair.value) ? pair.value.items : [pair.value];
      for (const s of sources) {
        const found = childOf(file, deAlias(file, s as YamlNode), token);
        if (found) return found;
      }
    }
    return undefined;
  }
  if (isSeq(node) && /^(0|[1-9]\d*)$/.test(token)) {
    const item = node.items[Number(token)];
    if (item === undefined) return undefined;
    // Sequences have no keys; a synthetic pair keeps the walk uniform.
    return { key: item, value: item } as unknown as Pair;
  }
  return undefined;
}

function refOf(node: YamlNode): string | undefined {
  if (!isMap(node)) return undefined;
  for (const pair of node.items) {
    if (isScalar(pair.key) && pair.key.value === '$ref' && isScalar(pair.value) && typeof pair.value.value === 'string') {
      return pair.value.value;
    }
  }
  return undefined;
}

/** Same resolution as the dereferencer: relative to the referring file (or URL). */
export function resolveRef(baseKey: string, ref: string): string {
  if (ref.startsWith('file:')) return fileURLToPath(ref);
  if (/^[a-z][a-z0-9+.-]+:/i.test(ref)) return ref;
  if (/^[a-z][a-z0-9+.-]+:/i.test(baseKey)) return new URL(ref, baseKey).href;
  return resolve(dirname(baseKey), safeDecode(ref));
}

/** The key a file is remembered under, from the URL the dereferencer hands to parser plugins. */
export function keyOfUrl(url: string): string {
  if (url.startsWith('file:')) return fileURLToPath(url);
  if (/^[a-z][a-z0-9+.-]+:/i.test(url) && !/^[a-z]:[\\/]/i.test(url)) return url;
  return resolve(safeDecode(url));
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** Files inside the working directory are named relative to it, like tsc does. */
export function displayPath(key: string): string {
  if (!isAbsolute(key)) return key;
  const rel = relative(process.cwd(), key);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : key;
}
