import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Credential } from '../config/types.js';
import { API_CODES } from '../codes.js';
import { readCloudEvents, type PublishedEvent } from '../pipeline/cloudevents-input.js';
import type { SqliteStore } from '../store/sqlite-store.js';
import { CHANGELOG_SUFFIX } from '../spec/streams.js';
import { requireCredential } from './credentials.js';
import { requireLoopbackHost } from './loopback-host.js';
import type { IngestMetrics } from '../metrics/types.js';

export interface PublishOptions {
  store: Pick<SqliteStore, 'commit' | 'seen' | 'ensureStreams' | 'durable' | 'producers'>;
  /** Streams the specs' rules write (now: a reload changes them); publishing to one is refused. */
  ruleStreams(): ReadonlySet<string>;
  /** Credential required to publish; null: loopback clients only. */
  publishAuth: Credential | null;
  bodyLimit: number;
  /** Published events count in reflex_events_written_total like synthesized ones. */
  metrics?: Pick<IngestMetrics, 'written'>;
}

/** A stream name an application may create: letters, digits, `.`, `_`, `-`, as topic names allow. */
const STREAM_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;

/**
 * Applications publish their own events beside the synthesized ones (`POST /streams/{name}/events`,
 * any mode of the CloudEvents HTTP binding). Each stream has one writer: streams the rules write
 * refuse producers, and an application stream belongs to the first producer that writes to it until
 * it is handed over (`DELETE /streams/{name}/producer`). `id` + `source` deduplicate within the
 * dedupe window, as a gateway's request id does for exchanges.
 */
export function registerPublishRoutes(app: FastifyInstance, options: PublishOptions): void {
  const { store } = options;
  app.register(async (scope) => {
    if (options.publishAuth) scope.addHook('onRequest', requireCredential(options.publishAuth, 'server.publishAuth'));
    else scope.addHook('onRequest', requireLoopbackHost('server.publishAuth'));
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'string', bodyLimit: options.bodyLimit }, (_req, body, done) => done(null, body));

    scope.post<{ Params: { name: string } }>('/streams/:name/events', { config: { publish: true } }, async (request, reply) => {
      const { name } = request.params;
      const refused = refusal(name, options.ruleStreams());
      if (refused) return reply.code(refused.status).send(refused.body);
      const body = typeof request.body === 'string' ? request.body : '';
      const events = readCloudEvents(request.headers['content-type'], request.headers, body);
      const producer = producerOf(request);
      if (!store.producers.claim(name, producer)) {
        const owner = store.producers.owner(name)?.producer;
        return reply.code(423).send({
          error: `stream '${name}' is written by producer '${owner}'; it has one writer (hand it over with DELETE /streams/${name}/producer)`,
          code: API_CODES.streamLocked, producer: owner,
        });
      }
      store.ensureStreams([{ name, kind: 'events' }]);
      const keys = events.map((e) => `publish|${e.source}|${e.id}`);
      const known = store.seen(keys);
      const fresh = new Set<number>();
      const taken = new Set<string>();
      keys.forEach((k, i) => {
        if (!known.has(k) && !taken.has(k)) (taken.add(k), fresh.add(i));
      });
      const entries = [...fresh].map((i) => ({ requestKey: keys[i]!, records: [{ stream: name, key: keyOf(events[i]!), value: events[i], type: events[i]!.type }] }));
      const result = entries.length > 0 ? store.commit({ entries, collect: true }) : null;
      if (result) options.metrics?.written(entries);
      // Answered once on disk, as ingest is: nothing acknowledged is lost to a power cut.
      await store.durable?.();
      const offsets = result?.committed?.map((r) => r.offset) ?? [];
      let next = 0;
      return {
        stream: name,
        producer,
        events: events.map((e, i) => (fresh.has(i) ? { id: e.id, source: e.source, offset: offsets[next++] } : { id: e.id, source: e.source, offset: null, duplicate: true })),
      };
    });

    scope.delete<{ Params: { name: string } }>('/streams/:name/producer', { config: { publish: true } }, async (request, reply) => {
      const { name } = request.params;
      const previous = store.producers.release(name);
      if (previous === null) return reply.code(404).send({ error: `stream '${name}' has no producer` });
      return { stream: name, released: previous };
    });
  });
}

function refusal(name: string, ruleStreams: ReadonlySet<string>): { status: number; body: Record<string, unknown> } | null {
  if (ruleStreams.has(name)) {
    return { status: 423, body: { error: `stream '${name}' is written by the specs' rules; publish to a stream of your own`, code: API_CODES.streamLocked } };
  }
  if (!STREAM_NAME.test(name) || name.endsWith(CHANGELOG_SUFFIX)) {
    return { status: 400, body: { error: `'${name}' cannot name a published stream: letters, digits, '.', '_' and '-', at most 200, not ending in ${CHANGELOG_SUFFIX}`, parameter: 'name' } };
  }
  return null;
}

/** The producer: `X-Producer-ID`, else the basic credential's user name, else `default`. */
function producerOf(request: FastifyRequest): string {
  const header = request.headers['x-producer-id'];
  const id = Array.isArray(header) ? header[0] : header;
  if (id && id.trim()) return id.trim();
  const auth = request.headers.authorization;
  if (auth?.toLowerCase().startsWith('basic ')) {
    const user = Buffer.from(auth.slice(6).trim(), 'base64').toString('utf8').split(':')[0];
    if (user) return user;
  }
  return 'default';
}

/** The record key: the Partitioning extension's `partitionkey`, else `subject`. */
function keyOf(event: PublishedEvent): string | null {
  const key = event.partitionkey ?? event.subject;
  return key === undefined || key === null ? null : String(key);
}
