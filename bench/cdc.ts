/**
 * CDC-heavy benchmark: exchanges on the shop's `orders` resource, 70% updates and 30% creates over
 * a fixed key space, through the Ingestor into the embedded store with change records applied
 * after each batch (reorder window 0). Beside it, in the same run, the same exchanges through the
 * same spec with `cdc: false` (events only). Reports change records/s and the store's size on disk.
 * Run alone: npx tsx bench/cdc.ts [exchanges] [keys]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CdcApplier } from '../src/cdc/applier.js';
import { silentLogger } from '../src/logger.js';
import type { Exchange } from '../src/model/exchange.js';
import { Ingestor } from '../src/pipeline/ingest.js';
import { loadSpecSet } from '../src/spec/compile.js';
import type { DecodedEntry } from '../src/sources/types.js';
import { SqliteStore } from '../src/store/sqlite-store.js';
import type { ChangeRecord } from '../src/model/records.js';
import { peakRssMiB } from './peak-rss.js';
import { Random } from './random.js';
import { ROOT } from './root.js';

const BATCH = 100;
const STATUSES = ['pending', 'paid', 'packed', 'shipped', 'delivered'] as const;
const SKUS = ['TSHIRT-M-BLK', 'MUG-CLASSIC', 'ESPRESSO-PRO', 'BEANS-ETHIOPIA-1KG', 'FILTER-V60', 'KETTLE-GOOSENECK'];

export interface CdcBenchResult {
  exchanges: number;
  keys: number;
  cdc: { seconds: number; exchangesPerSecond: number; changeRecords: number; changeRecordsPerSecond: number; events: number; bytesOnDisk: number; batchP99Ms: number; batchMaxMs: number };
  eventsOnly: { seconds: number; exchangesPerSecond: number; events: number; bytesOnDisk: number };
}

/** Exchanges are built on the fly (not kept) so a million of them fit in memory. Request ids are random, as Kong's are. */
export function* exchanges(count: number, keys: number, seed: number, everyKeyOnce = false): Generator<Exchange> {
  const rnd = new Random(seed);
  const t0 = Date.parse('2026-11-01T00:00:00Z');
  for (let n = 0; n < count; n++) {
    const key = everyKeyOnce ? `ord_${n}` : `ord_${rnd.int(0, keys - 1)}`;
    const create = everyKeyOnce || rnd.next() < 0.3;
    const items = Array.from({ length: 1 + (n % 4) }, (_, i) => ({ sku: SKUS[(n + i) % SKUS.length]!, quantity: 1 + (i % 3), unitPrice: 9.9 + i }));
    const body = {
      id: key, customerId: `cus_${n % 5000}`, status: create ? 'pending' : STATUSES[rnd.int(0, STATUSES.length - 1)]!,
      currency: 'EUR', total: items.reduce((s, i) => s + i.quantity * i.unitPrice, 0), items,
      note: create ? undefined : `revision ${n}`, updatedAt: new Date(t0 + n).toISOString(),
    };
    yield {
      request: {
        id: rnd.hex(32), time: new Date(t0 + n).toISOString(), method: create ? 'POST' : 'PATCH', scheme: 'https', host: 'api.shop.example',
        path: create ? '/v1/orders' : `/v1/orders/${key}`, upstreamPath: null, query: {}, headers: { 'content-type': 'application/json', 'user-agent': 'shop-web/4.2.0' },
        body: create ? { customerId: body.customerId, items } : { status: body.status, note: body.note }, route: null, params: {},
      },
      response: { status: create ? 201 : 200, headers: { 'content-type': 'application/json' }, body, latencyMs: 12 },
      client: { ip: '203.0.113.7', consumer: 'shop-web' },
      gateway: { kind: 'http', service: 'shop-api', route: 'shop', node: null },
      operation: null,
    };
  }
}

function sizeOnDisk(path: string): number {
  let total = 0;
  for (const f of [path, `${path}-wal`, `${path}-shm`]) if (existsSync(f)) total += statSync(f).size;
  return total;
}

async function runOnce(specFile: string, count: number, keys: number, dir: string, withCdc: boolean, everyKeyOnce = false) {
  const specs = await loadSpecSet([specFile]);
  const path = join(dir, withCdc ? 'cdc.db' : 'events.db');
  const store = new SqliteStore({ path, retentionMs: 0, dedupeWindowMs: 86_400_000, synchronous: 'normal' });
  store.ensureStreams(specs.streams);
  const cdc = new CdcApplier(store, { reorderWindowMs: 0, logger: silentLogger });
  const ingestor = new Ingestor(store, specs, cdc);
  let batch: DecodedEntry[] = [];
  let records = 0;
  // How long each batch took: a write that stalls one batch (the CDC state's write-behind) shows here, and in bench (c)'s p99.
  const batchMs: number[] = [];
  const started = performance.now();
  for (const exchange of exchanges(count, keys, 7, everyKeyOnce)) {
    batch.push({ ok: true, exchange, raw: null });
    if (batch.length === BATCH) {
      const t = performance.now();
      records += (await ingestor.ingest(batch, { source: 'bench' })).records;
      batchMs.push(performance.now() - t);
      batch = [];
    }
  }
  if (batch.length) records += (await ingestor.ingest(batch, { source: 'bench' })).records;
  const seconds = (performance.now() - started) / 1000;
  const changeRecords = withCdc ? store.lastOffset('orders.changelog') : 0;
  const events = store.lastOffset('orders');
  store.close();
  batchMs.sort((a, b) => a - b);
  const batchP99Ms = batchMs[Math.floor(batchMs.length * 0.99)] ?? 0;
  return { seconds, exchangesPerSecond: count / seconds, records, changeRecords, events, bytesOnDisk: sizeOnDisk(path), batchP99Ms, batchMaxMs: batchMs.at(-1) ?? 0 };
}

/**
 * Peak RSS of a process (a child of its own, so nothing else is in its heap) that created `keys`
 * orders, one exchange each, with CDC applied in each batch: every key live in the store.
 */
export async function measureLiveKeysRss(keys: number): Promise<{ keys: number; peakRssMiB: number; seconds: number }> {
  const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--live-keys', String(keys)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  if (code !== 0) throw new Error(`the live-keys child exited with ${code}: ${out}`);
  return JSON.parse(out.trim().split('\n').at(-1)!) as { keys: number; peakRssMiB: number; seconds: number };
}

async function liveKeysChild(keys: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'reflex-bench-cdc-rss-'));
  try {
    const r = await runOnce(join(ROOT, 'examples/shop/openapi.yaml'), keys, keys, dir, true, true);
    console.log(JSON.stringify({ keys: r.changeRecords, peakRssMiB: peakRssMiB(), seconds: r.seconds }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Lag from a batch's acknowledgement to its change records, with the reorder window (changes
 * pending, applied by the timer), at a fixed offered rate: batches of 100 sent when due.
 */
export async function measureCdcLag(rate: number, seconds: number, keys: number, reorderWindowMs: number): Promise<{ p50: number; p99: number; max: number; changes: number; achieved: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'reflex-bench-cdc-lag-'));
  const specs = await loadSpecSet([join(ROOT, 'examples/shop/openapi.yaml')]);
  const store = new SqliteStore({ path: join(dir, 'lag.db'), retentionMs: 0, dedupeWindowMs: 86_400_000, synchronous: 'normal' });
  store.ensureStreams(specs.streams);
  const cdc = new CdcApplier(store, { reorderWindowMs, logger: silentLogger });
  const ingestor = new Ingestor(store, specs, cdc);
  const acked = new Map<string, number>();
  const lags: number[] = [];
  let read = 0;
  const off = store.onAppend((appended) => {
    if (!appended.has('orders.changelog')) return;
    const now = performance.now();
    for (const r of store.read('orders.changelog', read, 100_000)) {
      read = r.offset;
      const at = acked.get((r.value as ChangeRecord).source.requestId);
      if (at !== undefined) lags.push(now - at);
    }
  });
  cdc.start();
  const total = rate * seconds;
  const source = exchanges(total, keys, 11);
  const started = performance.now();
  const inflight: Array<Promise<unknown>> = [];
  try {
    for (let sent = 0; sent < total; sent += BATCH) {
      const due = started + (sent / rate) * 1000;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const batch: DecodedEntry[] = [];
      for (let i = 0; i < BATCH; i++) {
        const next = source.next();
        if (next.done) break;
        batch.push({ ok: true, exchange: next.value, raw: null });
      }
      const ids = batch.map((e) => (e.ok ? e.exchange.request.id : ''));
      inflight.push(ingestor.ingest(batch, { source: 'bench' }).then(() => {
        const now = performance.now();
        for (const id of ids) acked.set(id, now);
      }));
    }
    await Promise.all(inflight);
    const achieved = total / ((performance.now() - started) / 1000);
    while (store.pendingCdc() > 0) await new Promise((r) => setTimeout(r, 50));
    lags.sort((a, b) => a - b);
    const at = (q: number) => lags[Math.min(lags.length - 1, Math.floor(q * lags.length))] ?? NaN;
    return { p50: at(0.5), p99: at(0.99), max: lags.at(-1) ?? NaN, changes: lags.length, achieved };
  } finally {
    off();
    cdc.stop();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function measureCdc(count: number, keys: number): Promise<CdcBenchResult> {
  const dir = mkdtempSync(join(tmpdir(), 'reflex-bench-cdc-'));
  try {
    const spec = join(ROOT, 'examples/shop/openapi.yaml');
    // The same spec with CDC off: events only, the baseline of this run (the shop spec has no $refs to other files).
    const eventsOnlySpec = join(dir, 'openapi-events-only.yaml');
    writeFileSync(eventsOnlySpec, readFileSync(spec, 'utf8').replace(/cdc: true/g, 'cdc: false'));
    const eventsOnly = await runOnce(eventsOnlySpec, count, keys, dir, false);
    const withCdc = await runOnce(spec, count, keys, dir, true);
    return {
      exchanges: count,
      keys,
      cdc: {
        seconds: withCdc.seconds, exchangesPerSecond: withCdc.exchangesPerSecond, changeRecords: withCdc.changeRecords,
        changeRecordsPerSecond: withCdc.changeRecords / withCdc.seconds, events: withCdc.events, bytesOnDisk: withCdc.bytesOnDisk,
        batchP99Ms: withCdc.batchP99Ms, batchMaxMs: withCdc.batchMaxMs,
      },
      eventsOnly: { seconds: eventsOnly.seconds, exchangesPerSecond: eventsOnly.exchangesPerSecond, events: eventsOnly.events, bytesOnDisk: eventsOnly.bytesOnDisk },
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1] && process.argv[2] === '--live-keys') {
  await liveKeysChild(Number(process.argv[3]));
} else if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const count = Number(process.argv[2] ?? 1_000_000);
  const keys = Number(process.argv[3] ?? 100_000);
  const r = await measureCdc(count, keys);
  const mb = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;
  console.log(`CDC-heavy mix: ${r.exchanges.toLocaleString()} exchanges on orders (30% creates, 70% updates) over ${r.keys.toLocaleString()} keys, batches of ${BATCH}, store sync normal, reorder window 0`);
  console.log(`  with CDC:    ${Math.round(r.cdc.exchangesPerSecond).toLocaleString()} exchanges/s, ${Math.round(r.cdc.changeRecordsPerSecond).toLocaleString()} change records/s (${r.cdc.changeRecords.toLocaleString()} records, ${r.cdc.events.toLocaleString()} events), ${mb(r.cdc.bytesOnDisk)} on disk; a batch took ${r.cdc.batchP99Ms.toFixed(1)} ms at p99, ${r.cdc.batchMaxMs.toFixed(1)} ms at most`);
  console.log(`  events only: ${Math.round(r.eventsOnly.exchangesPerSecond).toLocaleString()} exchanges/s (${r.eventsOnly.events.toLocaleString()} events), ${mb(r.eventsOnly.bytesOnDisk)} on disk`);
}
