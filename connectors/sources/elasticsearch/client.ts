import { readFileSync } from 'node:fs';
import { Client, type ClientOptions } from '@elastic/elasticsearch';
import type { Settings } from '../../../src/sdk/index.js';
import type { ElasticsearchSourceConfig } from './schema.js';

type Config = Settings<typeof ElasticsearchSourceConfig>;

/** A client for the configured cluster; the CA file is read once, here. Retries are the source's (with backoff), not the client's. */
export function esClient(config: Config): Client {
  const options: ClientOptions = { maxRetries: 0, requestTimeout: 60_000 };
  if (config.cloudId) options.cloud = { id: config.cloudId };
  else options.nodes = config.nodes ?? [config.node!];
  const auth = config.auth;
  if (auth && 'apiKey' in auth) options.auth = { apiKey: auth.apiKey };
  else if (auth && 'username' in auth) options.auth = { username: auth.username, password: auth.password };
  else if (auth && 'bearer' in auth) options.auth = { bearer: auth.bearer };
  if (config.tls) {
    options.tls = { rejectUnauthorized: config.tls.rejectUnauthorized ?? true, ...(config.tls.ca ? { ca: readFileSync(config.tls.ca) } : {}) };
  }
  return new Client(options);
}

/** What went wrong, for one log line and /readyz: a stable code, the HTTP status, and what to check. */
export interface EsFailure {
  code: string;
  status?: number;
  message: string;
}

/** Thrown by the source itself for conditions Elasticsearch does not call errors. */
export class EsSourceError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
  }
}

export function describeEsError(err: unknown, where: { index: string; timestampField: string }): EsFailure {
  if (err instanceof EsSourceError) return { code: err.code, message: err.message };
  const e = err as Error & { meta?: { statusCode?: number; body?: { error?: { type?: string; reason?: string; root_cause?: Array<{ type?: string; reason?: string }> } } } };
  const status = e.meta?.statusCode;
  const cause = e.meta?.body?.error?.root_cause?.[0] ?? e.meta?.body?.error;
  const reason = cause?.reason ?? e.message;
  if (e.name === 'ConnectionError' || e.name === 'TimeoutError') {
    return { code: 'unreachable', message: `${e.message} (is the node up, and \`node\` right?)` };
  }
  if (status === 401) return { code: 'unauthorized', status, message: `${reason} (check \`auth\`)` };
  if (status === 403) return { code: 'forbidden', status, message: `${reason} (the credentials need the read and view_index_metadata privileges on ${where.index})` };
  if (/No mapping found for \[/.test(reason ?? '')) {
    return { code: 'timestamp_not_mapped', status, message: `${reason} (an index matching ${where.index} has no field ${where.timestampField}: set \`timestampField\`)` };
  }
  return { code: cause?.type ?? (e.name && e.name !== 'Error' ? e.name : 'Error'), ...(status ? { status } : {}), message: reason ?? String(err) };
}

/** An expired or closed point in time: reopen it and resume from the checkpoint. */
export function isPitGone(err: unknown): boolean {
  const e = err as { meta?: { statusCode?: number; body?: unknown } };
  return e.meta?.statusCode === 404 && /search_context_missing|No search context found/.test(JSON.stringify(e.meta.body ?? ''));
}
