import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkMetrics, ensurePromtool } from '../../testbed/promtool.js';
import { kongLog } from '../support/kong-log.js';
import { parseExposition, sampleValue, type Sample } from '../support/prometheus-text.js';
import { ROOT, startReflexProcess, type ReflexProcess } from '../support/reflex-process.js';
import { eventually, startReceiver, type Receiver } from '../support/webhook-receiver.js';

/**
 * GET /metrics of the compiled CLI after a known workload: every number it implies, the output
 * checked by Prometheus's own `promtool check metrics`, and the credentials that guard it.
 */
const SHOP = `${ROOT}examples/shop/openapi.yaml`;
const T0 = Date.parse('2026-11-03T08:00:00Z');
const SECRET = 'whsec_' + Buffer.alloc(32, 7).toString('base64');

const order = { id: 'ord_1', customerId: 'cus_1', status: 'paid', total: 800, currency: 'EUR', items: [{ sku: 'sku_1', quantity: 2, unitPrice: 400 }] };
const placed = kongLog({
  id: 'req-place', startedAt: T0, method: 'POST', path: '/v1/orders', status: 201,
  requestBody: { customerId: 'cus_1', items: order.items }, responseBody: order,
});
const updated = kongLog({
  id: 'req-update', startedAt: T0 + 1000, method: 'PATCH', path: '/v1/orders/ord_1', status: 200,
  requestBody: { note: 'gift' }, requestContentType: 'application/merge-patch+json', responseBody: { ...order, note: 'gift' },
});
const unmatched = kongLog({ id: 'req-lost', startedAt: T0 + 2000, method: 'GET', path: '/v1/nowhere', status: 404, routeName: 'shop-catchall' });
const malformed = { ...kongLog({ id: 'req-teapot', startedAt: T0 + 3000, method: 'GET', path: '/v1/orders/ord_1', status: 200 }) };
(malformed.response as Record<string, unknown>).status = 'teapot';

const dirs: string[] = [];
const processes: ReflexProcess[] = [];
const receivers: Receiver[] = [];
let promtool: string;

beforeAll(() => {
  promtool = ensurePromtool();
});

afterAll(async () => {
  for (const p of processes) await p.stop();
  for (const r of receivers) await r.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function startReflex(yaml: string): Promise<ReflexProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'reflex-metrics-'));
  dirs.push(dir);
  writeFileSync(join(dir, 'reflex.yaml'), yaml);
  const reflex = await startReflexProcess(['--spec', SHOP, '--data', dir, '--config', join(dir, 'reflex.yaml')]);
  processes.push(reflex);
  return reflex;
}

async function scrape(reflex: ReflexProcess, headers: Record<string, string> = {}): Promise<{ status: number; type: string | null; text: string }> {
  const res = await fetch(`${reflex.url}/metrics`, { headers });
  return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
}

async function post(reflex: ReflexProcess, logs: unknown[]): Promise<any> {
  const res = await fetch(`${reflex.url}/ingest/kong`, { method: 'POST', body: JSON.stringify(logs), headers: { 'content-type': 'application/json' } });
  expect(res.status).toBe(200);
  return res.json();
}

describe('GET /metrics', () => {
  it('counts a known workload, and promtool accepts the exposition', async () => {
    // Fails the first delivery, then takes the rest.
    const billing = await startReceiver(({ n }) => ({ status: n === 0 ? 500 : 204 }));
    // Fails every time: its one event ends in the endpoint's dead letters after two attempts.
    const broken = await startReceiver(() => ({ status: 503 }));
    receivers.push(billing, broken);
    const reflex = await startReflex([
      `cdc: { reorderWindow: '0' }`,
      `webhooks: { allowPrivateAddresses: true, retrySchedule: [0s, 100ms], jitter: 0 }`,
      `sinks:`,
      `  - { type: stdout }`,
      `  - { type: webhook, name: billing, url: "${billing.url}", streams: [orders], secret: "${SECRET}" }`,
      `  - { type: webhook, name: alerting, url: "${broken.url}", streams: [alerts], secret: "${SECRET}" }`,
      ``,
    ].join('\n'));

    expect(await post(reflex, [placed, updated, unmatched, malformed])).toMatchObject({ accepted: 4, duplicates: 0, deadLetters: 1, unmatched: 1 });
    // Kong sends a batch again when it got no answer: the entry is a duplicate.
    expect(await post(reflex, [placed])).toMatchObject({ accepted: 0, duplicates: 1 });
    // An application publishes an event of its own.
    const published = await fetch(`${reflex.url}/streams/jobs/events`, {
      method: 'POST', headers: { 'content-type': 'application/cloudevents+json' },
      body: JSON.stringify({ specversion: '1.0', id: 'run-1', source: '/jobs/nightly', type: 'com.shop.JobFinished', data: { rows: 42 } }),
    });
    expect(published.status).toBe(200);

    let samples: Sample[] = [];
    const value = (name: string, labels: Record<string, string> = {}) => sampleValue(samples, name, labels);
    // Deliveries run behind ingest: 4 events and 2 change records to stdout, 2 events to billing
    // (after one 500), 1 to alerting that ends dead after its two attempts.
    await eventually(async () => {
      samples = parseExposition((await scrape(reflex)).text);
      return value('reflex_sink_records_delivered_total', { sink: 'stdout' }) === 6
        && value('reflex_webhook_attempts_total', { endpoint: 'billing', class: '2xx' }) === 2
        && value('reflex_webhook_dead_letters_total', { endpoint: 'alerting' }) === 1;
    }, 15_000, 'the sinks and webhooks to deliver');

    const { status, type, text } = await scrape(reflex);
    expect(status).toBe(200);
    expect(type).toMatch(/^text\/plain; version=0\.0\.4/);
    const lint = checkMetrics(promtool, text);
    expect(lint.output).toBe('');
    expect(lint.code).toBe(0);
    samples = parseExposition(text);

    const source = { source: 'http:/ingest/kong', format: 'kong' };
    expect(value('reflex_source_entries_received_total', source)).toBe(5);
    expect(value('reflex_source_entries_accepted_total', source)).toBe(4);
    expect(value('reflex_source_entries_duplicate_total', source)).toBe(1);
    expect(value('reflex_source_entries_dead_lettered_total', source)).toBe(1);
    expect(value('reflex_source_entries_received_total', { source: 'http:/ingest/exchanges', format: 'exchange' })).toBe(0);

    expect(value('reflex_exchanges_matched_total', { operation: 'createOrder' })).toBe(1);
    expect(value('reflex_exchanges_matched_total', { operation: 'updateOrder' })).toBe(1);
    const [route] = await (await fetch(`${reflex.url}/unmatched`)).json() as Array<{ label: string; count: number }>;
    expect(route).toMatchObject({ count: 1 });
    expect(value('reflex_exchanges_unmatched_total', { route: route!.label })).toBe(1);

    expect(value('reflex_events_written_total', { stream: 'orders', type: 'com.shop.OrderPlaced' })).toBe(1);
    expect(value('reflex_events_written_total', { stream: 'orders', type: 'com.shop.OrderUpdated' })).toBe(1);
    expect(value('reflex_events_written_total', { stream: 'alerts', type: 'com.shop.LargeOrderPlaced' })).toBe(1);
    expect(value('reflex_events_written_total', { stream: 'jobs', type: 'com.shop.JobFinished' })).toBe(1);
    expect(samples.filter((s) => s.name === 'reflex_events_written_total')).toHaveLength(4);

    expect(value('reflex_cdc_change_records_total', { resource: 'orders', op: 'c' })).toBe(1);
    expect(value('reflex_cdc_change_records_total', { resource: 'orders', op: 'u' })).toBe(1);
    expect(value('reflex_cdc_changes_pending', { resource: 'orders' })).toBe(0);
    expect(value('reflex_cdc_changes_pending', { resource: 'customers' })).toBe(0);

    expect(value('reflex_sink_delivery_failures_total', { sink: 'stdout' })).toBe(0);
    expect(value('reflex_sink_backlog_records', { sink: 'stdout' })).toBe(0);
    expect(value('reflex_sink_lag_seconds', { sink: 'stdout' })).toBe(0);
    expect(value('reflex_sink_delivery_seconds_count', { sink: 'stdout' })).toBeGreaterThanOrEqual(1);

    expect(value('reflex_webhook_attempts_total', { endpoint: 'billing', class: '5xx' })).toBe(1);
    expect(value('reflex_webhook_attempts_total', { endpoint: 'billing', class: '2xx' })).toBe(2);
    expect(value('reflex_webhook_attempts_total', { endpoint: 'alerting', class: '5xx' })).toBe(2);
    expect(value('reflex_webhook_dead_letters_total', { endpoint: 'billing' })).toBeUndefined();
    expect(value('reflex_webhook_attempt_seconds_count', { endpoint: 'billing' })).toBe(3);
    expect(value('reflex_webhook_attempt_seconds_count', { endpoint: 'alerting' })).toBe(2);

    // Two batches, each its own group commit.
    expect(value('reflex_ingest_commit_seconds_count')).toBe(2);
    // The rules ran for the three entries that matched an operation, the re-sent one too: the ingest
    // worker runs them before the main thread drops duplicates.
    expect(value('reflex_rule_evaluation_seconds_count')).toBe(3);
    expect(value('reflex_rule_evaluation_seconds_bucket', { le: '+Inf' })).toBe(3);
    expect(value('reflex_store_size_bytes')).toBeGreaterThan(0);
    expect(value('process_cpu_seconds_total')).toBeGreaterThan(0);
    expect(value('nodejs_heap_size_used_bytes')).toBeGreaterThan(0);
  });

  it('answers 401 without the credential: server.apiAuth, or server.metricsAuth when it is set', async () => {
    const apiToken = 'api-token-0123456789';
    const metricsToken = 'scrape-token-0123456789';
    const guarded = await startReflex(`server: { apiAuth: { token: "${apiToken}" } }\n`);
    expect((await scrape(guarded)).status).toBe(401);
    expect((await scrape(guarded, { authorization: `Bearer ${apiToken}` })).status).toBe(200);

    const own = await startReflex(`server: { apiAuth: { token: "${apiToken}" }, metricsAuth: { token: "${metricsToken}" } }\n`);
    expect((await scrape(own)).status).toBe(401);
    expect((await scrape(own, { authorization: `Bearer ${apiToken}` })).status).toBe(401);
    const scraped = await scrape(own, { authorization: `Bearer ${metricsToken}` });
    expect(scraped.status).toBe(200);
    expect(scraped.text).toContain('reflex_source_entries_received_total');
    // The scraper's token opens /metrics only.
    expect((await fetch(`${own.url}/streams`, { headers: { authorization: `Bearer ${metricsToken}` } })).status).toBe(401);
  });
});
