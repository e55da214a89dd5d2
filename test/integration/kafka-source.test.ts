import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, Partitioners, logLevel, type Admin, type Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtinRegistry } from '../../connectors/index.js';
import { kafkaSource } from '../../connectors/sources/kafka/source.js';
import { defaultConfig, type ConnectorBlock } from '../../src/config/types.js';
import { createLogger, silentLogger, type Logger } from '../../src/logger.js';
import { startReflex, type RunningReflex } from '../../src/runtime.js';
import { loadSpecSet } from '../../src/spec/compile.js';
import type { CompiledSpecSet } from '../../src/spec/types.js';
import { startKafka, type KafkaTestbed } from '../../testbed/kafka.js';
import { kongLog } from '../support/kong-log.js';
import { sourceConformance } from '../support/conformance/source.js';
import { ROOT } from '../support/reflex-process.js';

// A real Kafka broker (testbed/kafka.ts); the first run downloads its jars, hence the long hook timeout.
let kafka: KafkaTestbed;
let admin: Admin;
let producer: Producer;
let specs: CompiledSpecSet;
let dir: string;
const prefix = `src${Date.now()}`;
const running: RunningReflex[] = [];

beforeAll(async () => {
  kafka = await startKafka();
  const client = new Kafka({ brokers: kafka.brokers, clientId: 'kafka-source-test', logLevel: logLevel.NOTHING });
  admin = client.admin();
  await admin.connect();
  producer = client.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false });
  await producer.connect();
  specs = await loadSpecSet([`${ROOT}examples/shop/openapi.yaml`]);
  dir = mkdtempSync(join(tmpdir(), 'reflex-kafka-source-'));
}, 300_000);
afterAll(async () => {
  for (const r of running) await r.stop();
  await producer?.disconnect();
  await admin?.disconnect();
  await kafka?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

let seq = 0;
/** A Kong log of POST /v1/orders → 201: the shop spec makes one OrderPlaced in stream `orders` of it. */
function orderLog(orderId: string): string {
  const n = ++seq;
  const order = { id: orderId, customerId: 'cus_1001', status: 'pending', currency: 'EUR', total: 24.9, items: [{ sku: 'MUG', quantity: 1, unitPrice: 24.9 }] };
  return JSON.stringify(kongLog({
    id: `req-${prefix}-${n}`, startedAt: Date.parse('2026-11-02T09:14:03Z') + n * 1000, method: 'POST', path: '/v1/orders', status: 201,
    requestBody: { customerId: order.customerId, items: order.items }, responseBody: order,
  }));
}

async function createTopic(topic: string, numPartitions: number) {
  expect(await admin.createTopics({ topics: [{ topic, numPartitions }], waitForLeaders: true })).toBe(true);
}

async function start(source: Omit<ConnectorBlock, 'type'>, db: string, logger: Logger = silentLogger): Promise<RunningReflex> {
  const config = defaultConfig();
  config.server.port = 0;
  config.store.path = join(dir, db);
  config.cdc.reorderWindowMs = 0;
  config.sources = [{ type: 'kafka', format: 'kong', brokers: kafka.brokers, ...source }];
  const r = await startReflex(config, specs, builtinRegistry(), logger);
  running.push(r);
  return r;
}

async function stop(r: RunningReflex) {
  await r.stop();
  running.splice(running.indexOf(r), 1);
}

async function until<T>(what: string, get: () => T | Promise<T>, done: (v: T) => boolean, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await get();
    if (done(v)) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const orderIds = (r: RunningReflex) => r.store.read('orders', 0, 1000).map((rec) => (rec.value as { data: { orderId: string } }).data.orderId);

/** Committed offset of the group per partition, and the topic's end offsets: equal when all is committed. */
async function committedVsEnd(groupId: string, topic: string) {
  const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
  const end = await admin.fetchTopicOffsets(topic);
  return {
    committed: committed!.partitions.map((p) => [p.partition, p.offset]).sort(),
    end: end.map((p) => [p.partition, p.high]).sort(),
  };
}

describe('kafka source', () => {
  it('consumes Kong logs, commits offsets after the store, and resumes from them after a restart', async () => {
    const topic = `${prefix}-kong`;
    const groupId = `${prefix}-g1`;
    await createTopic(topic, 3);
    const first = Array.from({ length: 6 }, (_, i) => orderLog(`ord_a${i}`));
    // Kong retried one log it got no answer for: the same request id again, which the dedupe window drops.
    await producer.send({ topic, messages: [...first, first[2]!].map((value) => ({ value })) });

    let r = await start({ topics: [topic], groupId }, 'resume.db');
    await until('6 orders', () => orderIds(r), (ids) => ids.length >= 6);
    // Kafka offsets are committed right after the store transaction.
    await until('committed offsets', () => committedVsEnd(groupId, topic), (o) => JSON.stringify(o.committed) === JSON.stringify(o.end));
    // GET /sources: per partition the next offset, the high watermark and no lag left.
    const [status] = (await (await fetch(`${r.url}/sources`)).json() as Array<Record<string, unknown>>).filter((s) => s.type === 'kafka');
    expect(status).toMatchObject({ state: 'idle', lagSeconds: 0, read: { entries: 7 }, remaining: { entries: 0 } });
    const end = await admin.fetchTopicOffsets(topic);
    expect(status!.position).toEqual(end.filter((p) => p.high !== '0').map((p) => ({ topic, partition: p.partition, offset: Number(p.high), highWatermark: Number(p.high), lag: 0 })).sort((a, b) => a.partition - b.partition));
    await stop(r);

    const second = Array.from({ length: 4 }, (_, i) => orderLog(`ord_b${i}`));
    await producer.send({ topic, messages: second.map((value) => ({ value })) });
    r = await start({ topics: [topic], groupId }, 'resume.db');
    await until('10 orders', () => orderIds(r), (ids) => ids.length >= 10);
    await new Promise((res) => setTimeout(res, 1_000)); // anything re-read would show up by now
    const ids = orderIds(r);
    expect(ids).toHaveLength(10);
    expect(new Set(ids)).toEqual(new Set([...Array.from({ length: 6 }, (_, i) => `ord_a${i}`), ...Array.from({ length: 4 }, (_, i) => `ord_b${i}`)]));
    expect(r.store.lastOffset('orders')).toBe(10);
    await until('committed offsets', () => committedVsEnd(groupId, topic), (o) => JSON.stringify(o.committed) === JSON.stringify(o.end));
    await stop(r);
  }, 90_000);

  it('turns a malformed message into a dead letter and processes the rest (topicPattern)', async () => {
    const topic = `${prefix}-bad-logs`;
    const groupId = `${prefix}-g2`;
    await createTopic(topic, 1);
    await producer.send({ topic, messages: [{ value: orderLog('ord_c0') }, { value: '{"request": not json' }, { value: orderLog('ord_c1') }] });

    const r = await start({ topicPattern: `${prefix}-bad-.*`, groupId }, 'dead.db');
    await until('2 orders', () => orderIds(r), (ids) => ids.length >= 2);
    expect(orderIds(r)).toEqual(['ord_c0', 'ord_c1']);
    const dead = r.store.deadLetters(0, 10);
    expect(dead).toHaveLength(1);
    expect(dead[0]!.diagnostic.code).toBe('RX300');
    expect(dead[0]!.diagnostic.message).toContain(`topic ${topic}, partition 0, offset 1`);
    expect(dead[0]!.record).toBe('{"request": not json');
    const res = await fetch(`${r.url}/dead-letters`);
    expect(res.status).toBe(200);
    const offsets = await until('committed offsets', () => committedVsEnd(groupId, topic), (o) => o.committed[0]?.[1] !== '-1');
    expect(offsets.committed).toEqual([[0, '3']]);
    await stop(r);
  }, 60_000);

  it('reports an unreachable broker in one line, keeps retrying, says so on /readyz, and stops cleanly', async () => {
    const lines: string[] = [];
    const logger = createLogger({ level: 'info', write: (l) => lines.push(l) });
    const r = await start({ brokers: ['127.0.0.1:1'], topics: ['nowhere'], groupId: `${prefix}-g3` }, 'down.db', logger);
    const errors = await until('an error line', () => lines.filter((l) => l.includes(' ERROR ')), (e) => e.length >= 1, 20_000);
    expect(errors[0]).toMatch(/cannot consume from Kafka; retrying .*ECONNREFUSED.*retryInMs=1000/);
    expect(lines.join('\n')).not.toMatch(/\n\s+at /); // no stack traces
    const ready = await fetch(`${r.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ status: 'degraded', sources: [{ source: 'kafka:nowhere', type: 'kafka', code: expect.any(String) }] });
    const sources = (await (await fetch(`${r.url}/sources`)).json()) as Array<{ name: string; state: string; lastError?: { message: string } }>;
    expect(sources.find((s) => s.name === 'kafka:nowhere')).toMatchObject({ state: 'degraded', lastError: { message: expect.stringContaining('ECONNREFUSED') } });
    const t0 = Date.now();
    await stop(r);
    expect(Date.now() - t0).toBeLessThan(5_000);
  }, 60_000);
});

let conformanceTopics = 0;

// One partition per topic, so the order checks hold; a new group per block, and the same one after a restart.
sourceConformance('kafka', {
  connector: kafkaSource,
  async config() {
    const topic = `${prefix}-conformance-${++conformanceTopics}`;
    await createTopic(topic, 1);
    return { brokers: kafka.brokers, topics: [topic], groupId: `${topic}-g`, format: 'kong' };
  },
  async send(instance, ids) {
    const topic = (instance.settings.topics as string[])[0]!;
    const messages = ids.map((id) => ({ value: JSON.stringify(kongLog({ id, startedAt: 1_700_000_000_000, method: 'GET', path: '/v1/orders/1', status: 200 })) }));
    await producer.send({ topic, messages });
    return true;
  },
  pickupMs: 30_000,
  badConfigs: [
    { what: 'no broker', block: { brokers: [], topics: ['logs'], format: 'kong' }, pointer: '/brokers', message: /brokers must NOT have fewer than 1 items/ },
    { what: 'a topicPattern that is no regular expression', block: { brokers: ['127.0.0.1:9092'], topicPattern: '(', format: 'kong' }, message: /topicPattern is not a valid regular expression/ },
  ],
});
