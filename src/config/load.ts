import { Ajv } from 'ajv';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { LineCounter, isMap, isSeq, parseDocument, type Node } from 'yaml';
import { CODES, type RxCode } from '../codes.js';
import { DiagnosticError, type Diagnostic } from '../model/diagnostic.js';
import { parsePointer } from '../model/json-pointer.js';
import { describeAjvError } from './connector-config.js';
import { addFilePathKeyword } from './file-paths.js';
import { parseConfig } from './parse.js';
import { CONFIG_SCHEMA } from './schema.js';
import { withDefaults, type ConnectorBlock, type ReflexConfig } from './types.js';

const validate = addFilePathKeyword(new Ajv({ allErrors: true, strict: false, passContext: true })).compile(CONFIG_SCHEMA);

/**
 * Reads reflex.yaml: `${VAR}` is replaced from `env` (an unset variable is an error), the result is
 * checked against the schema, its defaults filled in and its durations and sizes parsed; every
 * error names file:line:column and the key.
 */
export function loadConfig(file: string, env: NodeJS.ProcessEnv): ReflexConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new DiagnosticError([{ code: CODES.configInvalid, severity: 'error', message: `cannot read config: ${(err as Error).message}`, file }]);
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  const locate = (pointer: string) => {
    const node = nodeAt(doc.contents as Node | null, parsePointer(pointer));
    const offset = node?.range?.[0];
    return offset !== undefined ? lineCounter.linePos(offset) : undefined;
  };
  const diag = (pointer: string, message: string, code: RxCode = CODES.configInvalid): Diagnostic => {
    const pos = locate(pointer);
    return { code, severity: 'error', message, file, pointer, ...(pos ? { line: pos.line, column: pos.col } : {}) };
  };
  if (doc.errors.length > 0) {
    throw new DiagnosticError(doc.errors.map((e) => {
      const pos = lineCounter.linePos(e.pos[0]);
      return { code: CODES.configInvalid, severity: 'error', message: e.message.split('\n')[0]!, file, line: pos.line, column: pos.col };
    }));
  }
  const problems: Diagnostic[] = [];
  const raw = substituteEnv(doc.toJS() ?? {}, env, '', (pointer, name) =>
    problems.push(diag(pointer, `environment variable ${name} is not set`, CODES.envVarUnset)));
  const base = dirname(resolve(file));
  // Resolves every path the schema marks (specs, store.path) against the config file's folder.
  if (!validate.call({ baseDir: base }, raw)) {
    for (const e of validate.errors ?? []) problems.push(diag(e.instancePath, describeAjvError(e)));
  }
  if (problems.length > 0) throw new DiagnosticError(problems);

  const config = parseConfig(withDefaults(raw), { file, baseDir: base, written: (pointer) => locate(pointer) !== undefined }, (pointer, message) =>
    problems.push(diag(pointer, message)));
  const blocks = (list: ConnectorBlock[], name: 'sources' | 'sinks'): ConnectorBlock[] =>
    list.map((b, i) => {
      const pointer = `/${name}/${i}`;
      const pos = locate(pointer);
      const block = { ...b };
      // Paths inside a block are resolved by its connector's schema (filePath), against this file's folder.
      Object.defineProperty(block, '__location', {
        value: { file, pointer, ...(pos ? { line: pos.line, column: pos.col } : {}) },
        enumerable: false,
      });
      return block;
    });
  config.sources = blocks(config.sources, 'sources');
  config.sinks = blocks(config.sinks, 'sinks');
  if (config.cluster) {
    const pos = locate('/cluster/kafka');
    const kafka = { ...config.cluster.kafka };
    Object.defineProperty(kafka, '__location', { value: { file, pointer: '/cluster/kafka', ...(pos ? { line: pos.line, column: pos.col } : {}) }, enumerable: false });
    config.cluster = { ...config.cluster, kafka };
  }
  if (problems.length > 0) throw new DiagnosticError(problems);
  return config;
}

function substituteEnv(value: unknown, env: NodeJS.ProcessEnv, pointer: string, missing: (pointer: string, name: string) => void): unknown {
  if (typeof value === 'string') {
    return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_m, name: string) => {
      const v = env[name];
      if (v === undefined) {
        missing(pointer, name);
        return '';
      }
      return v;
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => substituteEnv(v, env, `${pointer}/${i}`, missing));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = substituteEnv(v, env, `${pointer}/${k}`, missing);
    return out;
  }
  return value;
}

function nodeAt(node: Node | null, tokens: string[]): Node | null {
  let current: Node | null = node;
  for (const t of tokens) {
    if (isMap(current)) {
      const pair = current.items.find((p) => (p.key as { value?: unknown } | null)?.value === t);
      current = (pair?.value as Node | null) ?? (pair?.key as Node | null) ?? null;
    } else if (isSeq(current)) {
      current = (current.items[Number(t)] as Node | null) ?? null;
    } else {
      return current;
    }
  }
  return current;
}
