import { readFileSync } from 'node:fs';
import {
  Server, ServerCredentials, status as GrpcStatus,
  type MethodDefinition, type sendUnaryData, type ServerReadableStream, type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { defineSource, isAbort, type DecodedEntry, type Logger, type Source, type SourceContext } from '../../../src/sdk/index.js';
import { decodeAlsEntry, isFinalEntry } from './normalize.js';
import { STREAM_ACCESS_LOGS, decodeMessage, type AlsMessage } from './proto.js';
import { DEFAULT_TLS_HOST, EnvoyAlsConfig } from './schema.js';

/** Entries per store transaction: bounds a transaction when Envoy sends a very large batch. */
const CHUNK = 1_000;
/** Envoy batches by `buffer_size_bytes` (16 KiB by default), but one entry with bodies can be large. */
const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;
const EMPTY = Buffer.alloc(0);

/** Counters of one envoy-als source since it started (also logged when a stream ends and at stop). */
export interface EnvoyAlsStats {
  /** Streams opened, and open now. */
  streams: number;
  activeStreams: number;
  messages: number;
  /** HTTP entries received; of them `exchanges` became Exchanges, `deadLetters` could not, `skipped` were not final (periodic, start). */
  entries: number;
  exchanges: number;
  deadLetters: number;
  skipped: number;
  /** TCP entries (a tcp_grpc logger pointed here): not HTTP, ignored. */
  tcpEntries: number;
  /** Messages that did not decode as StreamAccessLogsMessage: logged and skipped, the stream stays up. */
  malformed: number;
  /** Streams whose first message had no identifier: kept, their exchanges have gateway.node null. */
  missingIdentifier: number;
  /** Times ingest was refused because a sink was behind; the batch was retried after Retry-After. */
  backpressureWaits: number;
}

export interface EnvoyAlsSource extends Source {
  /** Where the gRPC server listens (after start). */
  address(): { host: string; port: number } | null;
  stats(): EnvoyAlsStats;
}

interface StreamState {
  peer: string;
  node: string | null;
  cluster: string | null;
  logName: string | null;
  messages: number;
  entries: number;
  malformed: number;
  /** Work on this stream: one message at a time, in order. */
  chain: Promise<void>;
}

/**
 * Envoy's gRPC Access Log Service v3 (`envoy.access_loggers.http_grpc`): Envoy keeps one
 * client-streaming call open per logger and worker, sends an identifier first, then batches of HTTP
 * access log entries. Each batch is normalized and committed before the next message is taken, so
 * the stream is not read faster than the store commits (past grpc-js's few messages of read-ahead,
 * HTTP/2 flow control holds Envoy back, and Envoy's own buffer limit decides what it drops, as ALS
 * is designed to be lossy).
 *
 * Messages are decoded here, not by grpc-js: a message that does not decode is logged, counted and
 * skipped, and the stream stays up.
 */
export const envoyAlsSource = defineSource({
  type: 'envoy-als',
  summary: "Envoy's gRPC Access Log Service v3 (http_grpc access logger); bodies from the Lua filter of plugins/envoy",
  config: EnvoyAlsConfig,
  name: { text: 'envoy-als:<port>', of: (config) => `envoy-als:${config.port}` },
  create: (config, ctx) => createEnvoyAlsSource(config, ctx),
});

export function createEnvoyAlsSource(config: EnvoyAlsConfig, ctx: SourceContext): EnvoyAlsSource {
  const log = ctx.logger;
  const tls = config.tls;
  if (tls?.requireClientCert && !tls.ca) throw new Error('envoy-als: tls.requireClientCert needs tls.ca (the CA that signs the client certificates)');
  const credentials = tls ? tlsCredentials(tls) : ServerCredentials.createInsecure();
  // Without TLS anyone who reaches the port could write logs: only this machine may.
  const host = tls ? (config.host ?? DEFAULT_TLS_HOST) : '127.0.0.1';
  const { port } = config;

  const stats: EnvoyAlsStats = {
    streams: 0, activeStreams: 0, messages: 0, entries: 0, exchanges: 0, deadLetters: 0, skipped: 0,
    tcpEntries: 0, malformed: 0, missingIdentifier: 0, backpressureWaits: 0,
  };
  const streams = new Set<StreamState>();
  /** Messages being committed, on any stream (also on streams the client cancelled meanwhile): stop() waits for them. */
  const pending = new Set<Promise<void>>();
  let server: Server | null = null;
  let bound: { host: string; port: number } | null = null;
  let stopping = false;

  const method: MethodDefinition<Buffer, Buffer> = {
    path: STREAM_ACCESS_LOGS,
    requestStream: true,
    responseStream: false,
    // Pass-through: grpc-js ends a call whose message fails to deserialize; we decode (and skip) ourselves.
    requestSerialize: (b: Buffer) => b,
    requestDeserialize: (b: Buffer) => b,
    responseSerialize: () => EMPTY,
    responseDeserialize: (b: Buffer) => b,
  };

  function streamAccessLogs(call: ServerReadableStream<Buffer, Buffer>, callback: sendUnaryData<Buffer>): void {
    if (stopping) {
      callback({ code: GrpcStatus.UNAVAILABLE, details: 'reflex is stopping' });
      return;
    }
    const s: StreamState = { peer: call.getPeer(), node: null, cluster: null, logName: null, messages: 0, entries: 0, malformed: 0, chain: Promise.resolve() };
    streams.add(s);
    stats.streams++;
    stats.activeStreams++;
    let done = false;
    const finish = (reason: string, answer?: () => void) => {
      if (done) return;
      done = true;
      streams.delete(s);
      stats.activeStreams--;
      log.info('Envoy ALS stream ended', { reason, peer: s.peer, node: s.node, logName: s.logName, messages: s.messages, entries: s.entries, malformed: s.malformed });
      answer?.();
    };

    call.on('data', (bytes: Buffer) => {
      // One message at a time, committed before the next is handled. grpc-js reads ahead a few messages
      // (its stream buffer), then pauses the HTTP/2 stream, and flow control holds Envoy back.
      call.pause();
      const work = s.chain
        .then(() => onMessage(s, bytes))
        .then(
          () => {
            if (!done && !stopping) call.resume();
          },
          (err: Error) => {
            log.error('cannot store Envoy access logs; ending the stream (Envoy reconnects)', { peer: s.peer, node: s.node, error: err.message });
            finish('store error', () => callback({ code: GrpcStatus.INTERNAL, details: 'reflex could not store the access logs' }));
          },
        );
      s.chain = work;
      pending.add(work);
      void work.finally(() => pending.delete(work));
    });
    // Envoy half-closed the stream: commit what was read, then answer (an empty response and OK).
    call.on('end', () => void s.chain.then(() => finish('client ended the stream', () => callback(null, EMPTY))));
    call.on('cancelled', () => finish('cancelled by the client'));
    call.on('error', (err: Error) => finish(`stream error: ${err.message}`));
  }

  async function onMessage(s: StreamState, bytes: Buffer): Promise<void> {
    if (stopping) return;
    s.messages++;
    stats.messages++;
    let message: AlsMessage;
    try {
      message = decodeMessage(bytes);
    } catch (err) {
      s.malformed++;
      stats.malformed++;
      log.warn('malformed ALS message skipped; the stream stays up', { peer: s.peer, node: s.node, bytes: bytes.length, error: (err as Error).message, malformed: stats.malformed });
      return;
    }
    if (message.identifier) {
      s.node = message.identifier.node?.id || null;
      s.cluster = message.identifier.node?.cluster || null;
      s.logName = message.identifier.logName || null;
      log.info('Envoy ALS stream opened', { peer: s.peer, node: s.node, cluster: s.cluster, logName: s.logName });
    } else if (s.messages === 1) {
      stats.missingIdentifier++;
      log.warn('ALS stream without identifier; its exchanges get no gateway.node', { peer: s.peer, missingIdentifier: stats.missingIdentifier });
    }
    const tcp = message.tcpLogs?.logEntry?.length ?? 0;
    if (tcp > 0) {
      if (stats.tcpEntries === 0) log.warn('TCP access log entries ignored (reflex reads HTTP logs: use envoy.access_loggers.http_grpc)', { peer: s.peer, node: s.node });
      stats.tcpEntries += tcp;
    }
    const raw = message.httpLogs?.logEntry ?? [];
    s.entries += raw.length;
    stats.entries += raw.length;
    const entries: DecodedEntry[] = [];
    for (let i = 0; i < raw.length; i++) {
      const entry = raw[i]!;
      if (!isFinalEntry(entry)) {
        stats.skipped++;
        continue;
      }
      entries.push(decodeAlsEntry(entry, { node: s.node, index: i }));
    }
    for (let i = 0; i < entries.length; i += CHUNK) {
      const chunk = entries.length <= CHUNK ? entries : entries.slice(i, i + CHUNK);
      if (!(await ingest(chunk))) return;
      for (const e of chunk) {
        if (e.ok) stats.exchanges++;
        else stats.deadLetters++;
      }
    }
  }

  /** Commits the entries; while a sink's backlog is full ctx.ingest waits (stop ends the wait). False: stopped meanwhile. */
  async function ingest(entries: DecodedEntry[]): Promise<boolean> {
    let waited = false;
    try {
      await ctx.ingest(entries, {
        whileWaiting: () => {
          if (!waited) {
            stats.backpressureWaits++;
            log.warn('pausing Envoy ALS streams: a sink is behind');
          }
          waited = true;
          return !stopping;
        },
      });
    } catch (err) {
      if (isAbort(err)) return false;
      throw err;
    }
    if (waited) log.info('sink backlog below its limit again; reading Envoy access logs');
    return true;
  }

  return {
    async start() {
      const s = new Server({ 'grpc.max_receive_message_length': MAX_MESSAGE_BYTES });
      s.addService({ StreamAccessLogs: method }, { StreamAccessLogs: streamAccessLogs } as UntypedServiceImplementation);
      const target = `${host.includes(':') ? `[${host}]` : host}:${port}`;
      const actual = await new Promise<number>((resolve, reject) =>
        s.bindAsync(target, credentials, (err, p) => (err ? reject(new Error(`envoy-als: cannot listen on ${target}: ${err.message}`)) : resolve(p))),
      );
      server = s;
      bound = { host, port: actual };
      const fields = { host, port: actual, tls: tls ? (tls.requireClientCert ? 'client certificates required' : 'server certificate') : 'none' };
      if (tls) log.info('Envoy ALS gRPC server listening', fields);
      else if (config.host && !isLoopback(config.host)) log.warn(`Envoy ALS gRPC server listening on loopback only: no tls configured, so host ${config.host} is not used`, fields);
      else log.info('Envoy ALS gRPC server listening on loopback only (no tls configured)', fields);
    },
    async stop() {
      stopping = true;
      // Finish what is being committed (a batch waiting out backpressure gives up), then drop the streams:
      // Envoy reconnects to the next reflex.
      await Promise.all([...pending]);
      server?.forceShutdown();
      server = null;
      logStats(log, stats);
    },
    address: () => bound,
    stats: () => ({ ...stats }),
    // A receiver has no backlog of its own: where it listens and its counters are its position.
    status: () => ({ state: 'running', position: { listening: bound && `${bound.host}:${bound.port}`, ...stats } }),
  };
}

function tlsCredentials(tls: NonNullable<EnvoyAlsConfig['tls']>): ServerCredentials {
  const read = (key: 'cert' | 'key' | 'ca') => {
    const path = tls[key]!;
    try {
      return readFileSync(path);
    } catch (err) {
      throw new Error(`envoy-als tls.${key}: cannot read '${path}': ${(err as Error).message}`);
    }
  };
  return ServerCredentials.createSsl(tls.ca ? read('ca') : null, [{ private_key: read('key'), cert_chain: read('cert') }], tls.requireClientCert === true);
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

function logStats(log: Logger, stats: EnvoyAlsStats): void {
  log.info('Envoy ALS source stopped', { ...stats });
}
