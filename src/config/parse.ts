import { resolve } from 'node:path';
import type { RefPolicy } from '../spec/ref-files.js';
import type { RuleLimits } from '../rules/budget.js';
import { parseDuration, parseSize } from './duration.js';
import type { RawConfig } from './schema.js';
import type { ConnectorBlock } from './types.js';
import type { ClusterSettings } from '../cluster/types.js';

/** Reports a value that passed the schema but does not parse: its JSON pointer and the reason. */
export type Problem = (pointer: string, message: string) => void;

/** Where the raw config came from: relative `specRefs.allow` folders resolve against `baseDir`. */
export interface ConfigOrigin {
  file: string | null;
  baseDir: string;
  /** Whether the file itself sets the key at this pointer (not its default), to point errors at it. */
  written(pointer: string): boolean;
}

/**
 * reflex.yaml's values as the code uses them: durations in milliseconds, sizes in bytes, `specRefs.allow`
 * folders absolute. The one place that conversion happens; the defaults come from the schema.
 */
export function parseConfig(raw: RawConfig, where: ConfigOrigin, problem: Problem) {
  const { server, store, webhooks, limits, specRefs } = raw;
  /** `'0'` reads as 0 where `zero` says nothing-at-all is a setting (no timeout, keep everything). */
  const ms = (pointer: string, text: string, example: string, opts: { zero?: boolean; min?: number } = {}): number => {
    const value = opts.zero && text === '0' ? 0 : parseDuration(text);
    if (value === null || value < (opts.min ?? 0)) {
      problem(pointer, `'${text}' is not a duration${opts.min ? ` of at least ${opts.min}ms` : ''} (e.g. ${example})`);
      return 0;
    }
    return value;
  };
  const bytes = (pointer: string, text: string | number, example: string): number => {
    const value = parseSize(text);
    if (value === null) problem(pointer, `'${text}' is not a size (e.g. ${example})`);
    return value ?? 0;
  };
  const serverTimeout = (key: 'requestTimeout' | 'headersTimeout' | 'idleTimeout') =>
    ms(`/server/${key}`, server[key], '60s, 2m, 0 for none', { zero: true });

  const config = {
    /** Where the config came from, for messages (null when only defaults and flags are used). */
    file: where.file,
    specs: raw.specs,
    server: {
      host: server.host,
      port: server.port,
      bodyLimit: bytes('/server/bodyLimit', server.bodyLimit, '10mb'),
      ingestAuth: server.ingestAuth ?? null,
      apiAuth: server.apiAuth ?? null,
      publishAuth: server.publishAuth ?? null,
      /** Its own credential for GET /metrics (a scraper's), else apiAuth's rule. */
      metricsAuth: server.metricsAuth ?? null,
      /** Milliseconds (0: none) to receive a whole request; to receive its headers; of silence on a connection. */
      requestTimeoutMs: serverTimeout('requestTimeout'),
      headersTimeoutMs: serverTimeout('headersTimeout'),
      idleTimeoutMs: serverTimeout('idleTimeout'),
    },
    webhooks: {
      allowPrivateAddresses: webhooks.allowPrivateAddresses,
      retryScheduleMs: webhooks.retrySchedule.map((d, i) => ms(`/webhooks/retrySchedule/${i}`, d, '0s, 5s, 5m', { zero: true })),
      jitter: webhooks.jitter,
      timeoutMs: ms('/webhooks/timeout', webhooks.timeout, '15s, 5d'),
      disableAfterMs: ms('/webhooks/disableAfter', webhooks.disableAfter, '15s, 5d'),
      rotationGraceMs: ms('/webhooks/rotationGrace', webhooks.rotationGrace, '15s, 5d'),
      maxResponseBytes: webhooks.maxResponseBytes,
      concurrency: webhooks.concurrency,
    },
    store: {
      type: store.type,
      path: store.path,
      retentionMs: ms('/store/retention', store.retention, '7d, 12h, 30m', { zero: true }),
      dedupeWindowMs: ms('/store/dedupeWindow', store.dedupeWindow, '7d, 12h, 30m', { zero: true }),
      sync: store.sync,
    },
    log: raw.log,
    ingest: { workers: raw.ingest.workers },
    reload: { watch: raw.reload.watch },
    cdc: { reorderWindowMs: ms('/cdc/reorderWindow', raw.cdc.reorderWindow, '3s, 500ms, 0', { zero: true }), maxPending: raw.cdc.maxPending },
    /** What spec `$ref`s may read besides each spec's own folder tree. */
    specRefs: {
      allow: specRefs.allow.map((a) => (/^https?:\/\//i.test(a) ? a : resolve(where.baseDir, a))),
      maxBytes: bytes('/specRefs/maxBytes', specRefs.maxBytes, '32mb'),
    } satisfies RefPolicy as RefPolicy,
    /** Bounds on what one log entry may cost; `rules`: what one rule evaluation may cost. */
    limits: {
      jsonDepth: limits.jsonDepth,
      rules: {
        timeoutMs: ms('/limits/ruleTimeout', limits.ruleTimeout, '50ms, 1s', { min: 1 }),
        maxDepth: limits.ruleDepth,
        eventSize: bytes('/limits/eventSize', limits.eventSize, '1mb, 256kb'),
      } satisfies RuleLimits as RuleLimits,
    },
    sources: raw.sources as ConnectorBlock[],
    sinks: raw.sinks as ConnectorBlock[],
    /** Cluster mode (null: single node). */
    cluster: raw.cluster ? {
      exchangesTopic: raw.cluster.exchangesTopic ?? 'reflex.exchanges',
      partitions: raw.cluster.partitions ?? 12,
      replicationFactor: raw.cluster.replicationFactor ?? null,
      group: raw.cluster.group ?? 'reflex',
      advertisedUrl: raw.cluster.advertisedUrl ?? null,
      sessionTimeoutMs: ms('/cluster/sessionTimeout', raw.cluster.sessionTimeout ?? '30s', '30s, 10s', { min: 1 }),
      kafka: (raw.cluster.kafka ?? {}) as ClusterSettings['kafka'],
    } satisfies ClusterSettings as ClusterSettings : null,
  };
  if (raw.cluster && !raw.cluster.kafka) problem('/cluster', 'cluster mode needs `kafka: {brokers: [host:port, ...]}`');
  // Node refuses to start a server whose headers may take longer than the whole request.
  const { requestTimeoutMs, headersTimeoutMs } = config.server;
  if (requestTimeoutMs > 0 && headersTimeoutMs > requestTimeoutMs) {
    problem(where.written('/server/headersTimeout') ? '/server/headersTimeout' : '/server/requestTimeout',
      `server.headersTimeout (${headersTimeoutMs} ms) must not exceed server.requestTimeout (${requestTimeoutMs} ms)`);
  }
  return config;
}

/** reflex.yaml after defaults are applied and values parsed. */
export type ReflexConfig = ReturnType<typeof parseConfig>;
