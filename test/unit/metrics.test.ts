import { Counter, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { attemptClass } from '../../connectors/sinks/webhook/outcome.js';
import { Dispatcher } from '../../src/dispatch/dispatcher.js';
import { silentLogger } from '../../src/logger.js';
import { BoundedLabels, OTHER_LABEL } from '../../src/metrics/bounded-labels.js';
import { BucketCounts } from '../../src/metrics/bucket-counts.js';
import { LabelCache } from '../../src/metrics/label-cache.js';
import { MergedHistogram } from '../../src/metrics/merged-histogram.js';
import { ReflexMetrics, UNMATCHED_ROUTE_LIMIT } from '../../src/metrics/reflex-metrics.js';
import type { StreamRecord } from '../../src/model/records.js';
import { SqliteStore } from '../../src/store/sqlite-store.js';
import type { EntryOutcome } from '../../src/store/types.js';
import { parseExposition, sampleValue } from '../support/prometheus-text.js';

const samplesOf = async (m: ReflexMetrics) => parseExposition(await m.text());

describe('BoundedLabels', () => {
  it('keeps the first `limit` values and counts every later one as other, whatever comes back', () => {
    const labels = new BoundedLabels(2);
    expect(labels.label('kong/a')).toBe('kong/a');
    expect(labels.label('kong/b')).toBe('kong/b');
    expect(labels.label('kong/c')).toBe(OTHER_LABEL);
    expect(labels.label('kong/a')).toBe('kong/a');
    expect(labels.label('kong/d')).toBe(OTHER_LABEL);
  });

  it('refuses a bound that is not a positive integer', () => {
    expect(() => new BoundedLabels(0)).toThrow(/positive integer, got 0/);
  });
});

describe('LabelCache', () => {
  it('adds a batch to each label set once, and past its bound counts new sets under their last label other', async () => {
    const registry = new Registry();
    const counter = new Counter({ name: 'e_total', help: 'test', labelNames: ['stream', 'type'], registers: [registry] });
    const cache = new LabelCache(counter, 2);
    cache.add('jobs', 'a');
    cache.add('jobs', 'a', 2);
    cache.add('jobs', 'b');
    cache.add('jobs', 'c');
    cache.add('jobs', 'd');
    cache.add('audit', 'e');
    expect(parseExposition(await registry.metrics())).toEqual([]);
    cache.flush();
    cache.add('jobs', 'c');
    cache.flush();
    const samples = parseExposition(await registry.metrics());
    expect(samples).toHaveLength(4);
    expect(sampleValue(samples, 'e_total', { stream: 'jobs', type: 'a' })).toBe(3);
    expect(sampleValue(samples, 'e_total', { stream: 'jobs', type: 'b' })).toBe(1);
    expect(sampleValue(samples, 'e_total', { stream: 'jobs', type: OTHER_LABEL })).toBe(3);
    expect(sampleValue(samples, 'e_total', { stream: 'audit', type: OTHER_LABEL })).toBe(1);
  });
});

describe('MergedHistogram', () => {
  it('adds bucket counts from other threads to its own observations; buckets are cumulative, le inclusive', async () => {
    const h = new MergedHistogram('t_seconds', 'test', [0.1, 1]);
    const worker = new BucketCounts([0.1, 1]);
    worker.observe(0.1);
    worker.observe(0.5);
    worker.observe(5);
    h.add(worker.take()!);
    expect(worker.take()).toBeNull();
    h.observer.observe(0.05);
    const registry = new Registry();
    registry.registerMetric(h as never);
    const samples = parseExposition(await registry.metrics());
    expect(sampleValue(samples, 't_seconds_bucket', { le: '0.1' })).toBe(2);
    expect(sampleValue(samples, 't_seconds_bucket', { le: '1' })).toBe(3);
    expect(sampleValue(samples, 't_seconds_bucket', { le: '+Inf' })).toBe(4);
    expect(sampleValue(samples, 't_seconds_count')).toBe(4);
    expect(sampleValue(samples, 't_seconds_sum')).toBeCloseTo(5.65);
    expect(await registry.metrics()).toContain('# TYPE t_seconds histogram');
  });

  it('refuses counts made with other buckets', () => {
    const h = new MergedHistogram('t_seconds', 'test', [0.1, 1]);
    expect(() => h.add({ counts: [1, 2], sum: 1 })).toThrow(/2 bucket counts for 3 buckets/);
  });
});

describe('ReflexMetrics', () => {
  const entry = (o: Partial<EntryOutcome>): EntryOutcome => ({ requestKey: 'k', records: [], ...o });

  it('counts a batch per operation, per bounded gateway route, and per stream and type', async () => {
    const m = new ReflexMetrics();
    m.ingest.written([
      entry({ operation: 'createOrder', records: [{ stream: 'orders', key: 'o1', value: undefined, type: 'com.shop.OrderPlaced' }, { stream: 'alerts', key: 'o1', value: undefined, type: 'com.shop.Large' }] }),
      entry({ operation: 'createOrder', records: [{ stream: 'orders', key: 'o2', value: undefined, type: 'com.shop.OrderPlaced' }] }),
      entry({ operation: 'getOrder' }),
    ]);
    m.ingest.written([entry({ operation: 'createOrder' })]);
    // One more route than the bound: the last ones all land in `other`.
    const routes = Array.from({ length: UNMATCHED_ROUTE_LIMIT + 2 }, (_, i) => `kong/route-${i}`);
    m.ingest.written(routes.map((label) => entry({ unmatched: { label, method: 'GET', path: '/x' } })));
    m.ingest.written([entry({ unmatched: { label: 'kong/route-0', method: 'GET', path: '/x' } })]);
    const samples = await samplesOf(m);
    expect(sampleValue(samples, 'reflex_exchanges_matched_total', { operation: 'createOrder' })).toBe(3);
    expect(sampleValue(samples, 'reflex_exchanges_matched_total', { operation: 'getOrder' })).toBe(1);
    expect(sampleValue(samples, 'reflex_events_written_total', { stream: 'orders', type: 'com.shop.OrderPlaced' })).toBe(2);
    expect(sampleValue(samples, 'reflex_events_written_total', { stream: 'alerts', type: 'com.shop.Large' })).toBe(1);
    expect(samples.filter((s) => s.name === 'reflex_exchanges_unmatched_total')).toHaveLength(UNMATCHED_ROUTE_LIMIT + 1);
    expect(sampleValue(samples, 'reflex_exchanges_unmatched_total', { route: 'kong/route-0' })).toBe(2);
    expect(sampleValue(samples, 'reflex_exchanges_unmatched_total', { route: OTHER_LABEL })).toBe(2);
  });

  it('counts sources and change records per label set, and reads pending changes when scraped', async () => {
    const m = new ReflexMetrics();
    const kong = m.source('http:/ingest/kong', 'kong');
    kong.committed(5, { accepted: 4, duplicates: 1, deadLetters: 1 });
    kong.committed(2, { accepted: 2, duplicates: 0, deadLetters: 0 });
    m.cdc.applied(new Map([['orders', { c: 2, u: 1, d: 0, r: 0, late: 1, skipped: 0 }]]));
    m.cdc.applied(new Map([['orders', { c: 1, u: 0, d: 1, r: 0, late: 0, skipped: 2 }]]));
    let pending = new Map([['orders', 3]]);
    m.watchCdc(['customers', 'orders'], () => pending);
    let samples = await samplesOf(m);
    const source = { source: 'http:/ingest/kong', format: 'kong' };
    expect(sampleValue(samples, 'reflex_source_entries_received_total', source)).toBe(7);
    expect(sampleValue(samples, 'reflex_source_entries_accepted_total', source)).toBe(6);
    expect(sampleValue(samples, 'reflex_source_entries_duplicate_total', source)).toBe(1);
    expect(sampleValue(samples, 'reflex_source_entries_dead_lettered_total', source)).toBe(1);
    expect(sampleValue(samples, 'reflex_cdc_change_records_total', { resource: 'orders', op: 'c' })).toBe(3);
    expect(sampleValue(samples, 'reflex_cdc_change_records_total', { resource: 'orders', op: 'd' })).toBe(1);
    expect(sampleValue(samples, 'reflex_cdc_change_records_total', { resource: 'orders', op: 'r' })).toBeUndefined();
    expect(sampleValue(samples, 'reflex_cdc_changes_late_total', { resource: 'orders' })).toBe(1);
    expect(sampleValue(samples, 'reflex_cdc_changes_skipped_total', { resource: 'orders' })).toBe(2);
    expect(sampleValue(samples, 'reflex_cdc_changes_pending', { resource: 'orders' })).toBe(3);
    expect(sampleValue(samples, 'reflex_cdc_changes_pending', { resource: 'customers' })).toBe(0);
    pending = new Map();
    samples = await samplesOf(m);
    expect(sampleValue(samples, 'reflex_cdc_changes_pending', { resource: 'orders' })).toBe(0);
  });
});

describe('sink lag', () => {
  it('is the age of the oldest undelivered record while a sink fails, and 0 once it delivered', async () => {
    let now = Date.parse('2026-11-03T08:00:00Z');
    const store = new SqliteStore({ path: ':memory:', retentionMs: 0, dedupeWindowMs: 60_000, synchronous: 'normal', now: () => now });
    const append = (key: string) => store.commit({ entries: [{ requestKey: key, records: [{ stream: 'orders', key, value: { key } }] }] });
    let down = true;
    const got: string[] = [];
    const sink = {
      async deliver(records: StreamRecord[]) {
        if (down) throw new Error('sink down');
        got.push(...records.map((r) => r.key!));
      },
      async close() {},
    };
    const metrics = new ReflexMetrics();
    let dispatcher: Dispatcher | null = null;
    const sinkMetrics = metrics.sink('audit', { backlog: () => dispatcher!.backlog(), lagSeconds: (at) => dispatcher!.lagSeconds(at) });
    dispatcher = new Dispatcher(store, sink, silentLogger, { name: 'audit', streams: ['orders'], backoffMs: 5, maxBackoffMs: 5, metrics: sinkMetrics });
    append('a');
    now += 30_000;
    append('b');
    now += 15_000;
    expect(dispatcher.lagSeconds(now)).toBe(45);
    dispatcher.start();
    for (let i = 0; i < 200 && !(await metrics.text()).includes('reflex_sink_delivery_failures_total{sink="audit"} 2'); i++) await new Promise((r) => setTimeout(r, 10));
    down = false;
    for (let i = 0; i < 200 && got.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
    expect(got).toEqual(['a', 'b']);
    expect(dispatcher.lagSeconds(now)).toBe(0);
    const samples = parseExposition(await metrics.text());
    expect(sampleValue(samples, 'reflex_sink_records_delivered_total', { sink: 'audit' })).toBe(2);
    expect(sampleValue(samples, 'reflex_sink_delivery_failures_total', { sink: 'audit' })).toBeGreaterThanOrEqual(2);
    expect(sampleValue(samples, 'reflex_sink_backlog_records', { sink: 'audit' })).toBe(0);
    expect(sampleValue(samples, 'reflex_sink_delivery_seconds_count', { sink: 'audit' })).toBe(sampleValue(samples, 'reflex_sink_delivery_failures_total', { sink: 'audit' })! + 1);
    await dispatcher.stop();
    store.close();
  });
});

describe('attemptClass', () => {
  it('names a webhook attempt by its status class, or by why there was no answer', () => {
    expect(attemptClass({ kind: 'delivered', status: 204, latencyMs: 1, responseBody: '' })).toBe('2xx');
    expect(attemptClass({ kind: 'failed-status', status: 302, retryAfter: null, latencyMs: 1, responseBody: '' })).toBe('3xx');
    expect(attemptClass({ kind: 'failed-status', status: 429, retryAfter: '5', latencyMs: 1, responseBody: '' })).toBe('4xx');
    expect(attemptClass({ kind: 'timeout', latencyMs: 15_000 })).toBe('timeout');
    expect(attemptClass({ kind: 'network-error', error: 'ECONNREFUSED', latencyMs: 1 })).toBe('error');
    expect(attemptClass({ kind: 'address-refused', error: '10.0.0.8 is private', latencyMs: 0 })).toBe('error');
  });
});
