import { Ajv } from 'ajv';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { LineCounter, isMap, isSeq, parseDocument, type Node } from 'yaml';
import { DiagnosticError, type Diagnostic } from '../model/diagnostic.js';
import { parsePointer } from '../model/json-pointer.js';
import { describeAjvError } from './connector-config.js';
import { addFilePathKeyword } from './file-paths.js';
import { parseDuration, parseSize } from './duration.js';
import { CONFIG_SCHEMA } from './schema.js';
import { defaultConfig, type ConnectorBlock, type ReflexConfig } from './types.js';

const validate = addFilePathKeyword(new Ajv({ allErrors: true, strict: false, passContext: true })).compile(CONFIG_SCHEMA);

/**
 * Reads reflex.yaml: `${VAR}` is replaced from `env` (an unset variable is an error), the result is
 * checked against the schema, and every error names file:line:column and the key.
 */
export function loadConfig(file: string, env: NodeJS.ProcessEnv): ReflexConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new DiagnosticError([{ code: 'RX200', severity: 'error', message: `cannot read config: ${(err as Error).message}`, file }]);
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  const locate = (pointer: string) => {
    const node = nodeAt(doc.contents as Node | null, parsePointer(pointer));
    const offset = node?.range?.[0];
    return offset !== undefined ? lineCounter.linePos(offset) : undefined;
  };
  const diag = (pointer: string, message: string, code = 'RX200'): Diagnostic => {
    const pos = locate(pointer);
    return { code, severity: 'error', message, file, pointer, ...(pos ? { line: pos.line, column: pos.col } : {}) };
  };
  if (doc.errors.length > 0) {
    throw new DiagnosticError(doc.errors.map((e) => {
      const pos = lineCounter.linePos(e.pos[0]);
      return { code: 'RX200', severity: 'error', message: e.message.split('\n')[0]!, file, line: pos.line, column: pos.col };
    }));
  }
  const problems: Diagnostic[] = [];
  const raw = substituteEnv(doc.toJS() ?? {}, env, '', (pointer, name) =>
    problems.push(diag(pointer, `environment variable ${name} is not set`, 'RX202')));
  const base = dirname(resolve(file));
  // Resolves every path the schema marks (specs, store.path) against the config file's folder.
  if (!validate.call({ baseDir: base }, raw)) {
    for (const e of validate.errors ?? []) problems.push(diag(e.instancePath, describeAjvError(e)));
  }
  if (problems.length > 0) throw new DiagnosticError(problems);

  const cfg = raw as Record<string, any>;
  const out = defaultConfig();
  out.file = file;
  out.specs = cfg.specs ?? [];
  Object.assign(out.server, pick(cfg.server, ['host', 'port']));
  if (cfg.server?.bodyLimit !== undefined) {
    const size = parseSize(cfg.server.bodyLimit);
    if (size === null) problems.push(diag('/server/bodyLimit', `'${cfg.server.bodyLimit}' is not a size (e.g. 10mb)`));
    else out.server.bodyLimit = size;
  }
  for (const [key, field] of [['requestTimeout', 'requestTimeoutMs'], ['headersTimeout', 'headersTimeoutMs'], ['idleTimeout', 'idleTimeoutMs']] as const) {
    const value = cfg.server?.[key];
    if (value === undefined) continue;
    const ms = value === '0' ? 0 : parseDuration(value);
    if (ms === null) problems.push(diag(`/server/${key}`, `'${value}' is not a duration (e.g. 60s, 2m, 0 for none)`));
    else out.server[field] = ms;
  }
  // Node refuses to start a server whose headers may take longer than the whole request.
  const { requestTimeoutMs, headersTimeoutMs } = out.server;
  if (requestTimeoutMs > 0 && headersTimeoutMs > requestTimeoutMs) {
    problems.push(diag(cfg.server?.headersTimeout !== undefined ? '/server/headersTimeout' : '/server/requestTimeout',
      `server.headersTimeout (${headersTimeoutMs} ms) must not exceed server.requestTimeout (${requestTimeoutMs} ms)`));
  }
  if (cfg.server?.ingestAuth) out.server.ingestAuth = cfg.server.ingestAuth;
  if (cfg.server?.apiAuth) out.server.apiAuth = cfg.server.apiAuth;
  const hooks = cfg.webhooks ?? {};
  for (const key of ['allowPrivateAddresses', 'jitter', 'maxResponseBytes', 'concurrency'] as const) {
    if (hooks[key] !== undefined) (out.webhooks as unknown as Record<string, unknown>)[key] = hooks[key];
  }
  for (const [key, field] of [['timeout', 'timeoutMs'], ['disableAfter', 'disableAfterMs'], ['rotationGrace', 'rotationGraceMs']] as const) {
    if (hooks[key] === undefined) continue;
    const ms = parseDuration(hooks[key]);
    if (ms === null) problems.push(diag(`/webhooks/${key}`, `'${hooks[key]}' is not a duration (e.g. 15s, 5d)`));
    else out.webhooks[field] = ms;
  }
  if (hooks.retrySchedule !== undefined) {
    out.webhooks.retryScheduleMs = (hooks.retrySchedule as string[]).map((d, i) => {
      const ms = d === '0' ? 0 : parseDuration(d);
      if (ms === null) problems.push(diag(`/webhooks/retrySchedule/${i}`, `'${d}' is not a duration (e.g. 0s, 5s, 5m)`));
      return ms ?? 0;
    });
  }
  if (cfg.store?.path) out.store.path = cfg.store.path;
  if (cfg.store?.sync) out.store.sync = cfg.store.sync;
  for (const [key, field] of [['retention', 'retentionMs'], ['dedupeWindow', 'dedupeWindowMs']] as const) {
    const value = cfg.store?.[key];
    if (value === undefined) continue;
    const ms = value === '0' ? 0 : parseDuration(value);
    if (ms === null) problems.push(diag(`/store/${key}`, `'${value}' is not a duration (e.g. 7d, 12h, 30m)`));
    else out.store[field] = ms;
  }
  Object.assign(out.log, pick(cfg.log, ['level', 'format']));
  if (cfg.cdc?.reorderWindow !== undefined) {
    const ms = cfg.cdc.reorderWindow === '0' ? 0 : parseDuration(cfg.cdc.reorderWindow);
    if (ms === null) problems.push(diag('/cdc/reorderWindow', `'${cfg.cdc.reorderWindow}' is not a duration (e.g. 3s, 500ms, 0)`));
    else out.cdc.reorderWindowMs = ms;
  }
  if (cfg.specRefs?.allow) out.specRefs.allow = (cfg.specRefs.allow as string[]).map((a) => (/^https?:\/\//i.test(a) ? a : resolve(base, a)));
  if (cfg.specRefs?.maxBytes !== undefined) {
    const size = parseSize(cfg.specRefs.maxBytes);
    if (size === null) problems.push(diag('/specRefs/maxBytes', `'${cfg.specRefs.maxBytes}' is not a size (e.g. 32mb)`));
    else out.specRefs.maxBytes = size;
  }
  if (cfg.limits?.jsonDepth !== undefined) out.limits.jsonDepth = cfg.limits.jsonDepth;
  if (cfg.limits?.ruleTimeout !== undefined) {
    const ms = parseDuration(cfg.limits.ruleTimeout);
    if (ms === null || ms < 1) problems.push(diag('/limits/ruleTimeout', `'${cfg.limits.ruleTimeout}' is not a duration of at least 1ms (e.g. 50ms, 1s)`));
    else out.limits.rules.timeoutMs = ms;
  }
  if (cfg.limits?.ruleDepth !== undefined) out.limits.rules.maxDepth = cfg.limits.ruleDepth;
  if (cfg.limits?.eventSize !== undefined) {
    const size = parseSize(cfg.limits.eventSize);
    if (size === null) problems.push(diag('/limits/eventSize', `'${cfg.limits.eventSize}' is not a size (e.g. 1mb, 256kb)`));
    else out.limits.rules.eventSize = size;
  }
  const blocks = (list: unknown[] | undefined, name: 'sources' | 'sinks'): ConnectorBlock[] =>
    (list ?? []).map((b, i) => {
      const pointer = `/${name}/${i}`;
      const pos = locate(pointer);
      const block = { ...(b as ConnectorBlock) };
      // Paths inside a block are resolved by its connector's schema (filePath), against this file's folder.
      Object.defineProperty(block, '__location', {
        value: { file, pointer, ...(pos ? { line: pos.line, column: pos.col } : {}) },
        enumerable: false,
      });
      return block;
    });
  out.sources = blocks(cfg.sources, 'sources');
  out.sinks = blocks(cfg.sinks, 'sinks');
  if (problems.length > 0) throw new DiagnosticError(problems);
  return out;
}

function pick(obj: Record<string, unknown> | undefined, keys: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of keys) if (obj?.[k] !== undefined) out[k] = obj[k];
  return out;
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
