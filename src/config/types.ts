import { DEFAULT_REF_POLICY, type RefPolicy } from '../spec/ref-files.js';
import { DEFAULT_WEBHOOK_SETTINGS, type WebhookSettings } from '../webhooks/types.js';
import { DEFAULT_JSON_DEPTH } from '../model/json-depth.js';
import { DEFAULT_RULE_LIMITS, type RuleLimits } from '../rules/budget.js';

/** reflex.yaml after defaults are applied (see src/config/schema.ts for the file's schema). */
export interface ReflexConfig {
  /** Where the config came from, for messages (null when only defaults and flags are used). */
  file: string | null;
  specs: string[];
  server: {
    host: string; port: number; bodyLimit: number; ingestAuth: Credential | null; apiAuth: Credential | null;
    /** Milliseconds (0: none) to receive a whole request; to receive its headers; of silence on a connection. */
    requestTimeoutMs: number; headersTimeoutMs: number; idleTimeoutMs: number;
  };
  webhooks: WebhookSettings;
  store: { type: 'sqlite'; path: string; retentionMs: number; dedupeWindowMs: number; sync: 'full' | 'normal' };
  log: { level: 'debug' | 'info' | 'warn' | 'error'; format: 'text' | 'json' };
  cdc: { reorderWindowMs: number };
  /** What spec `$ref`s may read besides each spec's own folder tree. */
  specRefs: RefPolicy;
  /** Bounds on what one log entry may cost. */
  /** `rules`: what one rule evaluation may cost (ruleTimeout, ruleDepth, eventSize). */
  limits: { jsonDepth: number; rules: RuleLimits };
  sources: ConnectorBlock[];
  sinks: ConnectorBlock[];
}

/** A credential reflex accepts: a bearer token, HTTP basic, or either. */
export interface Credential {
  token?: string;
  basic?: { username: string; password: string };
}

/** One `sources:` or `sinks:` entry; the connector named by `type` validates the rest. */
export interface ConnectorBlock {
  type: string;
  [key: string]: unknown;
  /** Location of the block in the config file, for errors. */
  readonly __location?: { file: string; pointer: string; line?: number; column?: number };
}

/** The HTTP receivers that are always on, besides whatever `sources:` adds. */
export const DEFAULT_SOURCES: ConnectorBlock[] = [
  { type: 'http', path: '/ingest/kong', format: 'kong' },
  { type: 'http', path: '/ingest/exchanges', format: 'exchange' },
];

export function defaultConfig(): ReflexConfig {
  return {
    file: null,
    specs: [],
    server: {
      host: '127.0.0.1', port: 8088, bodyLimit: 10 * 1024 * 1024, ingestAuth: null, apiAuth: null,
      requestTimeoutMs: 60_000, headersTimeoutMs: 20_000, idleTimeoutMs: 120_000,
    },
    webhooks: { ...DEFAULT_WEBHOOK_SETTINGS, retryScheduleMs: [...DEFAULT_WEBHOOK_SETTINGS.retryScheduleMs] },
    store: { type: 'sqlite', path: '.reflex/reflex.db', retentionMs: 7 * 86_400_000, dedupeWindowMs: 86_400_000, sync: 'full' },
    log: { level: 'info', format: 'text' },
    cdc: { reorderWindowMs: 3000 },
    specRefs: { allow: [...DEFAULT_REF_POLICY.allow], maxBytes: DEFAULT_REF_POLICY.maxBytes },
    limits: { jsonDepth: DEFAULT_JSON_DEPTH, rules: { ...DEFAULT_RULE_LIMITS } },
    sources: [],
    sinks: [],
  };
}
