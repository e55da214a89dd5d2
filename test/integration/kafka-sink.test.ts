import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigResourceTypes, Kafka, logLevel, type Consumer, type KafkaMessage } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtinRegistry } from '../../connectors/index.js';
import { registerKafkaCodecs } from '../../connectors/kafka/codecs.js';
import { kafkaSink } from '../../connectors/sinks/kafka/sink.js';
import { defaultConfig } from '../../src/config/types.js';
import { silentLogger } from '../../src/logger.js';
import { startReflex, type RunningReflex } from '../../src/runtime.js';
import { loadSpecSet } from '../../src/spec/compile.js';
import { startKafka, type KafkaTestbed } from '../../testbed/kafka.js';
import { ROOT } from '../support/reflex-process.js';
import { sinkConformance, type Received } from '../support/conformance/sink.js';

// A real Kafka broker (testbed/kafka.ts); the first run downloads its jars, hence the long hook timeout.
let kafka: KafkaTestbed;
let reflex: RunningReflex;
let dir: string;
const prefix = `t${Date.now()}`;
const session = readFileSync(`${ROOT}examples/shop/kong-session.ndjson`, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as unknown);

beforeAll(async () => {
  kafka = await startKafka({ reuse: false }); // its own broker: one test stops and restarts it
  dir = mkdtempSync(join(tmpdir(), 'reflex-kafka-sink-'));
  const config = defaultConfig();
  config.server.port = 0;
  config.store.path = join(dir, 'reflex.db');
  config.cdc.reorderWindowMs = 0;
  config.sinks = [{ type: 'kafka', brokers: kafka.brokers, topic: `${prefix}.shop.{stream}`, partitions: 3 }];
  const specs = await loadSpecSet([`${ROOT}examples/shop/openapi.yaml`]);
  reflex = await startReflex(config, specs, builtinRegistry(), silentLogger);
}, 300_000);
afterAll(async () => {
  for (const c of conformanceConsumers) await c.disconnect();
  await reflex?.stop();
  await kafka?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function consume(topics: string[], expected: number): Promise<Array<KafkaMessage & { topic: string }>> {
  const client = new Kafka({ brokers: kafka.brokers, clientId: 'test-consumer', logLevel: logLevel.NOTHING });
  const consumer = client.consumer({ groupId: `${prefix}-${topics.join('-')}` });
  await consumer.connect();
  for (const topic of topics) await consumer.subscribe({ topic, fromBeginning: true });
  const got: Array<KafkaMessage & { topic: string }> = [];
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`consumed ${got.length}/${expected}`)), 30_000);
    void consumer.run({
      eachMessage: async ({ topic, message }) => {
        got.push({ ...message, topic });
        if (got.length >= expected) {
          clearTimeout(timer);
          resolve();
        }
      },
    });
  });
  await consumer.disconnect();
  return got;
}

/** Until the sink's dispatcher has delivered everything (the topics exist only after its first delivery). */
async function delivered(): Promise<void> {
  for (let i = 0; i < 300; i++) {
    const sinks = (await (await fetch(`${reflex.url}/sinks`)).json()) as Array<{ lag: Record<string, number> }>;
    const lag = sinks[0]!.lag;
    if (Object.keys(lag).length > 0 && Object.values(lag).every((n) => n === 0)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the Kafka sink did not catch up');
}

const headers = (m: KafkaMessage) => Object.fromEntries(Object.entries(m.headers ?? {}).map(([k, v]) => [k, String(v)]));

describe('Kafka sink, against a real broker', () => {
  it('writes events to one topic per stream, keyed by subject, with CloudEvents ce_* headers; change records to compacted changelog topics with tombstones', async () => {
    const res = await fetch(`${reflex.url}/ingest/kong`, { method: 'POST', body: JSON.stringify(session), headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(200);
    await delivered();

    const orders = await consume([`${prefix}.shop.orders`], 4);
    expect(orders.map((m) => m.key!.toString()).sort()).toEqual(['ord_5001', 'ord_5001', 'ord_5002', 'ord_5002']);
    const placed = orders.find((m) => headers(m).ce_type === 'com.shop.OrderPlaced' && m.key!.toString() === 'ord_5001')!;
    expect(headers(placed)).toMatchObject({
      ce_specversion: '1.0', ce_source: 'https://api.shop.example', ce_subject: 'ord_5001', ce_time: '2026-11-02T09:14:15.120Z',
      ce_reflexstream: 'orders', ce_reflexoperation: 'createOrder', 'content-type': 'application/json',
    });
    expect(headers(placed).ce_id).toMatch(/^[0-9a-f]{32}$/);
    expect(JSON.parse(placed.value!.toString())).toMatchObject({ orderId: 'ord_5001', total: 89.7 });
    // One key, one partition: per-key order holds.
    const forKey = orders.filter((m) => m.key!.toString() === 'ord_5002').map((m) => headers(m).ce_type);
    expect(forKey).toEqual(['com.shop.OrderPlaced', 'com.shop.OrderCancelled']);

    const changes = await consume([`${prefix}.shop.customers.changelog`], 4);
    expect(changes.map((m) => [m.key!.toString(), m.value === null ? null : JSON.parse(m.value.toString()).op])).toEqual([
      ['cus_1001', 'c'], ['cus_1001', 'u'], ['cus_1001', 'd'], ['cus_1001', null],
    ]);

    const client = new Kafka({ brokers: kafka.brokers, logLevel: logLevel.NOTHING });
    const admin = client.admin();
    await admin.connect();
    const described = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [
        { type: ConfigResourceTypes.TOPIC, name: `${prefix}.shop.orders.changelog`, configNames: ['cleanup.policy'] },
        { type: ConfigResourceTypes.TOPIC, name: `${prefix}.shop.orders`, configNames: ['cleanup.policy'] },
      ],
    });
    await admin.disconnect();
    expect(described.resources.map((r) => [r.resourceName, r.configEntries[0]!.configValue])).toEqual([
      [`${prefix}.shop.orders.changelog`, 'compact'],
      [`${prefix}.shop.orders`, 'delete'],
    ]);

    const sinks = (await (await fetch(`${reflex.url}/sinks`)).json()) as Array<{ name: string; lag: Record<string, number> }>;
    expect(sinks[0]!.name).toBe('kafka');
    expect(Object.values(sinks[0]!.lag).every((n) => n === 0)).toBe(true);
  });

  it('writes a published application event to its stream\'s topic like a synthesized one (issue 20)', async () => {
    const published = { specversion: '1.0', id: 'run-1', source: '/jobs/nightly', type: 'com.shop.JobFinished', subject: 'nightly', time: '2026-12-02T03:00:00Z', datacontenttype: 'application/json', data: { rows: 42 } };
    const res = await fetch(`${reflex.url}/streams/jobs/events`, { method: 'POST', body: JSON.stringify(published), headers: { 'content-type': 'application/cloudevents+json' } });
    expect(res.status).toBe(200);
    await delivered();
    const [message] = await consume([`${prefix}.shop.jobs`], 1);
    expect(message!.key!.toString()).toBe('nightly');
    expect(headers(message!)).toMatchObject({ ce_specversion: '1.0', ce_id: 'run-1', ce_source: '/jobs/nightly', ce_type: 'com.shop.JobFinished', ce_subject: 'nightly', 'content-type': 'application/json' });
    expect(JSON.parse(message!.value!.toString())).toEqual({ rows: 42 });
  });

  it('writes Snappy-compressed batches that another client reads (compression: snappy)', async () => {
    const { TopicProducer } = await import('../../connectors/sinks/kafka/producer.js');
    const producer = new TopicProducer(
      { brokers: kafka.brokers, clientId: 'reflex', topic: `${prefix}.snappy.{stream}`, mode: 'structured', partitions: 1, replicationFactor: 1, compression: 'snappy' } as ConstructorParameters<typeof TopicProducer>[0],
      silentLogger,
    );
    const records = Array.from({ length: 50 }, (_, i) => ({ stream: 'orders', offset: i + 1, key: `ord_${i % 5}`, json: JSON.stringify({ specversion: '1.0', id: `e${i}`, source: 's', type: 't', data: { n: i, text: 'x'.repeat(200) } }) }));
    await producer.send([records]);
    await producer.close();
    // kafkajs has only gzip: the consumer reads Snappy with the codec reflex registers (the source does the same).
    registerKafkaCodecs();
    const got = await consume([`${prefix}.snappy.orders`], 50);
    expect(got.map((m) => JSON.parse(m.value!.toString()).data.n)).toEqual(records.map((_, i) => i));
  });

  it('keeps accepting while the broker is down and delivers everything once, in order per key, when it returns', async () => {
    const t0 = Date.parse('2026-11-05T00:00:00Z');
    const { kongLog } = await import('../support/kong-log.js');
    const batch = (b: number) => Array.from({ length: 20 }, (_, i) => {
      const n = b * 20 + i;
      return kongLog({
        id: `${prefix}-outage-${n}`, startedAt: t0 + n, method: 'POST', path: '/v1/customers', status: 201,
        requestBody: { email: `c${n}@example.com`, name: `C ${n}` }, responseBody: { id: `cus_o${n % 7}`, email: `c${n}@example.com`, name: `C ${n}` },
      });
    });
    const post = async (b: number) => {
      const res = await fetch(`${reflex.url}/ingest/kong`, { method: 'POST', body: JSON.stringify(batch(b)), headers: { 'content-type': 'application/json' } });
      expect(res.status).toBe(200);
    };
    const before = reflex.store.lastOffset('customers');
    for (let b = 0; b < 5; b++) await post(b);
    await kafka.pause();
    for (let b = 5; b < 15; b++) await post(b); // the broker is down: ingest goes on
    await new Promise((r) => setTimeout(r, 1000));
    const waiting = (await (await fetch(`${reflex.url}/sinks`)).json()) as Array<{ backlog: number }>;
    expect(waiting[0]!.backlog).toBeGreaterThan(0); // nothing could be delivered meanwhile
    await kafka.resume();
    for (let b = 15; b < 20; b++) await post(b);
    await delivered();

    const ingested = reflex.store.lastOffset('customers') - before;
    expect(ingested).toBe(400);
    const all = await consume([`${prefix}.shop.customers`], 3 + ingested);
    const outage = all.filter((m) => headers(m).ce_reflexrequestid?.startsWith(`${prefix}-outage-`));
    const ids = outage.map((m) => headers(m).ce_id);
    expect(new Set(ids).size).toBe(ids.length); // no duplicates by event id
    expect(outage).toHaveLength(ingested);
    for (let k = 0; k < 7; k++) {
      const seq = outage.filter((m) => m.key!.toString() === `cus_o${k}`).map((m) => Number(headers(m).ce_reflexrequestid!.split('-').pop()));
      expect(seq).toEqual([...seq].sort((a, b) => a - b));
    }
  }, 180_000);
});

/** One consumer per set of topics, reading from the beginning, and what it got so far. */
const conformanceConsumers: Consumer[] = [];
const conformanceReads = new Map<string, Received[]>();

// This file's own broker: the outage check stops and restarts it.
sinkConformance('kafka', {
  connector: kafkaSink,
  config: () => ({ brokers: kafka.brokers, topic: `${prefix}.{stream}`, partitions: 3 }),
  async received(_settings, streams) {
    const topics = streams.map((s) => `${prefix}.${s}`);
    const key = topics.join(',');
    if (!conformanceReads.has(key)) {
      const got: Received[] = [];
      conformanceReads.set(key, got);
      const consumer = new Kafka({ brokers: kafka.brokers, logLevel: logLevel.NOTHING }).consumer({ groupId: `${prefix}-conformance-${conformanceReads.size}` });
      conformanceConsumers.push(consumer);
      await consumer.connect();
      await consumer.subscribe({ topics, fromBeginning: true });
      await consumer.run({ eachMessage: async ({ message }) => void got.push({ id: headers(message).ce_id!, key: message.key?.toString() ?? null }) });
    }
    return [...conformanceReads.get(key)!];
  },
  outage: { begin: () => kafka.pause(), end: () => kafka.resume() },
  deliveryMs: 60_000,
  badConfigs: [
    { what: 'an unknown compression', block: { brokers: ['127.0.0.1:9092'], compression: 'brotli' }, pointer: '/compression', message: /compression must be one of/ },
    { what: 'a compression without a codec here (lz4)', block: { brokers: ['127.0.0.1:9092'], compression: 'lz4' }, pointer: '/compression', message: /compression must be one of/ },
    { what: 'a gzip level past 9', block: { brokers: ['127.0.0.1:9092'], compressionLevel: 10 }, pointer: '/compressionLevel', message: /compressionLevel must be <= 9/ },
    { what: 'no broker', block: { brokers: [] }, pointer: '/brokers', message: /brokers must NOT have fewer than 1 items/ },
  ],
});
