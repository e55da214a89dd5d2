import { readFileSync, writeFileSync } from 'node:fs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKafka, type KafkaTestbed } from '../../testbed/kafka.js';
import { startPostgres, type PostgresTestbed } from '../../testbed/postgres.js';
import { ClusterRun, clusterNames, waitSettled } from '../support/cluster.js';
import { GatewayPosters } from '../support/gateway-posters.js';
import { batchesOf, shopWorkload } from '../support/shop-workload.js';
import { readTopics } from '../support/topic-reader.js';
import { eventually } from '../support/webhook-receiver.js';

// A postgres sink in cluster mode (issue 17): real reflex processes on a real broker and a real
// PostgreSQL. The sink reads the output topics as a consumer group of its own and keeps its
// position per topic partition in reflex_offsets, in the transaction that writes the rows. One
// instance is killed with -9 mid-load: every event and change record is in the database once, and
// each resource table holds the last state of every key on the changelog topics.
const SCHEMA = 'shop';
let kafka: KafkaTestbed;
let postgres: PostgresTestbed;
let db: pg.Client;
let run: ClusterRun;

beforeAll(async () => {
  [kafka, postgres] = await Promise.all([startKafka(), startPostgres()]);
}, 300_000);
afterAll(async () => {
  await run?.stop();
  await db?.end().catch(() => undefined);
  await Promise.all([kafka?.stop(), postgres?.stop()]);
});

describe('a postgres sink in cluster mode', () => {
  it('writes every record once across a kill -9, and the resource tables end at the changelogs\' last states', async () => {
    const url = await postgres.createDatabase();
    db = new pg.Client({ connectionString: url });
    await db.connect();
    run = new ClusterRun(kafka.brokers, clusterNames('pg'), 4);
    const config = readFileSync(run.config, 'utf8').replace(/^sinks:\n/m, `sinks:\n  - { type: postgres, url: "${url}", schema: ${SCHEMA}, batchSize: 50 }\n`);
    writeFileSync(run.config, config);
    for (let i = 0; i < 2; i++) await run.start();
    await waitSettled(run, { members: 2 });

    const workload = shopWorkload({ seed: 11, calls: 800, keysPerResource: 60, startMs: Date.parse('2026-12-01T00:00:00Z'), stepMs: 2, idPrefix: `p${Date.now().toString(36)}` });
    const posters = new GatewayPosters(batchesOf(workload.logs, 20), () => run.live().map((i) => i.url), { concurrency: 2, pauseMs: 100 });
    await posters.acknowledgedAtLeast(15);
    await run.instances[1]!.process.kill9();
    await posters.done;
    await waitSettled(run, { caughtUp: true, members: 1, timeoutMs: 60_000 });

    const streams = ['alerts', 'customers', 'customers.changelog', 'orders', 'orders.changelog', 'payments'];
    const messages = await readTopics(kafka.brokers, streams.map((s) => `${run.names.prefix}.${s}`));
    const events = messages.filter((m) => m.headers.ce_id !== undefined);
    const changes = messages.filter((m) => m.topic.endsWith('.changelog') && m.value !== null);
    expect(events.length).toBeGreaterThan(300);
    const count = async (table: string) => Number((await db.query(`SELECT count(*) AS n FROM ${SCHEMA}.${table}`).catch(() => ({ rows: [{ n: 0 }] }))).rows[0].n);
    await eventually(async () => (await count('events')) >= events.length && (await count('changes')) >= changes.length, 60_000, 'every record in PostgreSQL')
      .catch(async (err: Error) => {
        throw new Error(`${err.message}: events ${await count('events')} of ${events.length}, changes ${await count('changes')} of ${changes.length}\n${run.logs(40)}`);
      });

    // Once each: as many rows as records, every event id once.
    expect(await count('events')).toBe(events.length);
    expect(await count('changes')).toBe(changes.length);
    const ids = (await db.query<{ id: string }>(`SELECT id FROM ${SCHEMA}.events`)).rows.map((r) => r.id).sort();
    expect(ids).toEqual(events.map((m) => m.headers.ce_id!).sort());

    // Each resource table: the last change record per key (deleted keys absent).
    for (const resource of ['orders', 'customers']) {
      const last = new Map<string, unknown>();
      for (const m of messages.filter((x) => x.topic === `${run.names.prefix}.${resource}.changelog`).sort((a, b) => a.offset - b.offset)) {
        last.set(m.key!, m.value === null ? null : (JSON.parse(m.value) as { after: unknown }).after);
      }
      const expected = [...last].filter(([, after]) => after !== null).map(([key, after]) => ({ key, state: after })).sort((a, b) => a.key.localeCompare(b.key));
      const rows = (await db.query<{ key: string; state: unknown }>(`SELECT key, state FROM ${SCHEMA}.${resource} ORDER BY key`)).rows;
      expect(rows.map((r) => ({ key: r.key, state: r.state })).sort((a, b) => a.key.localeCompare(b.key))).toEqual(expected);
    }
    // Positions are kept per topic partition.
    const positions = (await db.query<{ stream: string }>(`SELECT stream FROM ${SCHEMA}.reflex_offsets`)).rows.map((r) => r.stream);
    expect(positions.every((p) => /#\d+$/.test(p))).toBe(true);
  }, 300_000);
});
