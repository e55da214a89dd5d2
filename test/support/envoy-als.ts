import { Client, credentials as grpcCredentials, type ChannelCredentials, type ClientWritableStream, type ServiceError } from '@grpc/grpc-js';
import { STREAM_ACCESS_LOGS, encodeMessage } from '../../connectors/sources/envoy-als/proto.js';
import type { AlsHttpEntry } from '../../connectors/sources/envoy-als/normalize.js';
import { silentLogger, type Logger } from '../../src/logger.js';
import type { SourceContext } from '../../src/sources/connector.js';
import { sourceContext } from '../../src/sources/host.js';
import type { DecodedEntry } from '../../src/sources/types.js';
import type { BatchResult } from '../../src/store/types.js';

/** A SourceContext that records every ingest call; `ingest` can be replaced per test. */
export interface FakeContext extends SourceContext {
  batches: DecodedEntry[][];
  exchanges(): Array<Extract<DecodedEntry, { ok: true }>['exchange']>;
}

export function fakeContext(ingest?: (entries: DecodedEntry[]) => Promise<void>, logger: Logger = silentLogger): FakeContext {
  const batches: DecodedEntry[][] = [];
  // The host's context (backpressure waits included) over a recording commit.
  const { context } = sourceContext({
    name: 'envoy-als:test',
    logger,
    format: null,
    decodeOptions: {},
    http: { post() {} },
    async commit(entries): Promise<BatchResult> {
      batches.push(entries);
      await ingest?.(entries);
      return { accepted: entries.length, duplicates: 0, records: 0, deadLetters: 0, unmatched: 0, appended: new Map() };
    },
    getCheckpoint: () => null,
  });
  return { ...context, batches, exchanges: () => batches.flat().flatMap((e) => (e.ok ? [e.exchange] : [])) };
}

let seq = 0;

/** An HTTP access log entry as Envoy sends it (proto3 JSON form), with a unique request id. */
export function httpEntry(overrides: { id?: string; path?: string; status?: number; method?: string; body?: unknown } = {}): AlsHttpEntry {
  const id = overrides.id ?? `req-${++seq}`;
  const body = overrides.body === undefined ? undefined : JSON.stringify(overrides.body);
  return {
    commonProperties: {
      downstreamRemoteAddress: { socketAddress: { address: '10.0.0.7', portValue: 51000 } },
      startTime: '2026-11-02T09:14:03.120Z',
      timeToLastDownstreamTxByte: '0.012s',
      upstreamCluster: 'api',
      routeName: 'api',
      accessLogType: 'DownstreamEnd',
      ...(body !== undefined ? { metadata: { filterMetadata: { reflex: { request_body: body, request_body_truncated: false } } } } : {}),
    },
    protocolVersion: 'HTTP11',
    request: {
      requestMethod: overrides.method ?? 'POST',
      scheme: 'http',
      authority: 'api.shop.example',
      path: overrides.path ?? '/v1/orders',
      requestId: id,
      requestHeaders: { 'content-type': 'application/json' },
    },
    response: { responseCode: overrides.status ?? 201, responseHeaders: { 'content-type': 'application/json' } },
  };
}

export function identifier(node: string, logName = 'api') {
  return { node: { id: node, cluster: 'gateways' }, logName };
}

/** Encodes a StreamAccessLogsMessage: optional identifier and HTTP entries. */
export function message(entries: AlsHttpEntry[], id?: ReturnType<typeof identifier>): Buffer {
  return encodeMessage({ ...(id ? { identifier: id } : {}), httpLogs: { logEntry: entries } });
}

export interface AlsCall {
  call: ClientWritableStream<Buffer>;
  /** Settles when the server answers (OK after a half-close) or ends the call with an error. */
  done: Promise<{ error: ServiceError | null }>;
  write(bytes: Buffer): Promise<void>;
  close(): void;
}

/** A client-streaming StreamAccessLogs call over a real gRPC channel, as Envoy makes it. */
export function openStream(address: string, creds: ChannelCredentials = grpcCredentials.createInsecure(), options: Record<string, unknown> = {}): AlsCall {
  const client = new Client(address, creds, options);
  let settle!: (v: { error: ServiceError | null }) => void;
  const done = new Promise<{ error: ServiceError | null }>((resolve) => (settle = resolve));
  const call = client.makeClientStreamRequest<Buffer, Buffer>(
    STREAM_ACCESS_LOGS,
    (b) => b,
    (b) => b,
    (err) => settle({ error: err }),
  );
  void done.then(() => client.close());
  return {
    call,
    done,
    write: (bytes) => new Promise<void>((resolve, reject) => call.write(bytes, (err: Error | null | undefined) => (err ? reject(err) : resolve()))),
    close: () => client.close(),
  };
}

export async function until<T>(what: string, get: () => T, done: (v: T) => boolean, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = get();
    if (done(v)) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
