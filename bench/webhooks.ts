/**
 * (f) Webhook deliveries per second: reflex's webhook service (fan-out from the embedded store,
 * per-key order, one body per event and one delivery row and one attempt row per delivery in SQLite
 * on the main thread; signing and undici on its delivery thread) against undici
 * posting the same bodies to the same receivers with the same concurrency. Receivers run in their
 * own process. No target: the figures inform.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Agent } from 'undici';
import { silentLogger } from '../src/logger.js';
import { SqliteStore } from '../src/store/sqlite-store.js';
import { WebhookService } from '../connectors/sinks/webhook/service.js';
import { DEFAULT_WEBHOOK_SETTINGS } from '../src/config/webhook-settings.js';
import { procCpuSeconds, startServer } from './children.js';
import { startCpuProfile } from './cpu-profile.js';
import { num, pct, section, table } from './report.js';

export interface WebhookSectionOptions {
  tmp: string;
  out: (line?: string) => void;
  /** Events for the single-receiver run. */
  single: number;
  /** Events per endpoint for the 50-receiver run. */
  perEndpoint: number;
  receivers: number;
  concurrency: number;
  keys: number;
}

interface Run {
  deliveries: number;
  seconds: number;
  cpuSeconds: number | null;
  /** reflex's main thread alone (fan-out, scheduling, SQLite): what ingest would share with it. */
  mainCpuSeconds?: number | null;
}

/** This process's main thread's utime + stime (Linux /proc; clock ticks are 100 Hz there), in seconds. */
function mainThreadCpuSeconds(): number | null {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return null;
  }
}

/** OrderUpdated events shaped like the shop example's (about 450 bytes as JSON). */
export function events(n: number, keys: number): Array<{ key: string; value: Record<string, unknown> }> {
  const out = [];
  for (let i = 0; i < n; i++) {
    const key = `ord_${i % keys}`;
    out.push({
      key,
      value: {
        specversion: '1.0', id: `evt-${i}`, source: 'https://api.shop.example', type: 'com.shop.OrderUpdated', subject: key,
        time: new Date(Date.UTC(2026, 10, 3, 8, 0, 0, i)).toISOString(), datacontenttype: 'application/json',
        data: { id: key, customerId: `cus_${i % 977}`, status: 'paid', total: (i % 5000) / 10, currency: 'EUR', items: [{ sku: 'TSHIRT-M-BLK', quantity: 2 }] },
        reflexstream: 'orders', reflexoperation: 'updateOrder', reflexrequestid: `req-${i}`,
      },
    });
  }
  return out;
}

export async function undiciBaseline(urls: string[], bodies: string[], concurrency: number): Promise<Run> {
  const agents = urls.map(() => new Agent({ connections: concurrency }));
  const cpu0 = process.cpuUsage();
  const started = performance.now();
  await Promise.all(urls.map(async (url, u) => {
    const target = new URL(url);
    let next = 0;
    await Promise.all(Array.from({ length: concurrency }, async () => {
      while (next < bodies.length) {
        const body = bodies[next++]!;
        const res = await agents[u]!.request({ origin: target.origin, path: target.pathname, method: 'POST', body,
          headers: { 'content-type': 'application/cloudevents+json' } });
        await res.body.dump();
        if (res.statusCode !== 204) throw new Error(`baseline receiver answered ${res.statusCode}`);
      }
    }));
  }));
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpu0);
  await Promise.all(agents.map((a) => a.close()));
  return { deliveries: urls.length * bodies.length, seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
}

export async function reflexRun(dir: string, urls: string[], evs: ReturnType<typeof events>, o: WebhookSectionOptions): Promise<Run> {
  const store = new SqliteStore({ path: join(dir, 'reflex.db'), retentionMs: 0, dedupeWindowMs: 86_400_000, synchronous: (process.env.BENCH_SYNC as 'full' | 'normal' | undefined) ?? 'full' });
  store.ensureStreams([{ name: 'orders', kind: 'events' }]);
  const service = new WebhookService({ log: store, subscriptions: store.subscriptions, database: store.db }, { ...DEFAULT_WEBHOOK_SETTINGS, allowPrivateAddresses: true, concurrency: o.concurrency }, silentLogger);
  const ids = urls.map((url) => service.create({ url, streams: ['orders'] }).id);
  for (let i = 0; i < evs.length; i += 500) {
    store.commit({ entries: evs.slice(i, i + 500).map((e, j) => ({ requestKey: `bench-${i + j}`, records: [{ stream: 'orders', key: e.key, value: e.value }] })) });
  }
  const expected = urls.length * evs.length;
  // REFLEX_BENCH_PROFILE=<folder>: a CPU profile of reflex's side only (not the baseline's).
  const stopProfile = await startCpuProfile(`webhooks-${urls.length}`);
  const cpu0 = process.cpuUsage();
  const main0 = mainThreadCpuSeconds();
  const started = performance.now();
  service.start();
  // Done when every endpoint has fanned out the whole stream and has nothing pending.
  const last = store.lastOffset('orders');
  // Straight to the table: the listing of pending messages sorts them all, which at 50 ms intervals took ~4% of this thread.
  const pendingOf = store.db.prepare('SELECT 1 FROM webhook_messages WHERE endpoint_id = ? AND status = 0 LIMIT 1').pluck();
  const done = () => (store.subscriptions.floor('orders') ?? 0) >= last && ids.every((id) => pendingOf.get(id) === undefined);
  const delivered = () => ids.reduce((n, id) => n + (service.get(id)?.counts.delivered ?? 0), 0);
  while (!done()) {
    await new Promise((r) => setTimeout(r, 50));
    if (performance.now() - started > 600_000) throw new Error(`webhooks: only ${delivered()} of ${expected} delivered in 10 minutes`);
  }
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const main1 = mainThreadCpuSeconds();
  await stopProfile();
  const dead = ids.reduce((n, id) => n + (service.get(id)?.counts.dead ?? 0), 0);
  if (delivered() !== expected) throw new Error(`webhooks: ${delivered()} of ${expected} delivered`);
  await service.stop();
  store.close();
  if (dead > 0) throw new Error(`webhooks: ${dead} deliveries went dead against a receiver that answers 204`);
  return { deliveries: expected, seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, mainCpuSeconds: main0 !== null && main1 !== null ? main1 - main0 : null };
}

export async function webhookSection(o: WebhookSectionOptions): Promise<void> {
  const { out } = o;
  out(section('(f) Webhooks: deliveries per second to local receivers'));
  out(`    receivers: node:http servers answering 204, in their own process; events: OrderUpdated CloudEvents over ${num(o.keys)} keys;`);
  out(`    ${o.concurrency} requests in flight per endpoint for both. reflex: WebhookService in this process on the embedded store (sync ${process.env.BENCH_SYNC ?? 'full'}; BENCH_SYNC=normal to compare),`);
  out('    fan-out from the log, Standard Webhooks signature, per-key order, delivery and attempt rows committed in batches (up to 25 ms while busy).');
  out('    Baseline: undici posting the same bodies (no signing, no bookkeeping) with one Agent per receiver.');
  const child = await startServer('webhook-receivers.ts', [String(o.receivers)]);
  try {
    const urls = child.url.split(',');
    const rows = [['run', 'deliveries', 'reflex /s', 'undici /s', 'ratio', 'reflex CPU s', 'main thread µs/delivery', 'receiver CPU s']];
    for (const [label, targets, n] of [
      ['1 receiver', urls.slice(0, 1), o.single],
      [`${o.receivers} receivers`, urls, o.perEndpoint],
    ] as const) {
      const evs = events(n, o.keys);
      const bodies = evs.map((e) => JSON.stringify(e.value));
      const base = await undiciBaseline([...targets], bodies, o.concurrency);
      const rcpu0 = procCpuSeconds(child.pid);
      const run = await reflexRun(join(o.tmp, `webhooks-${targets.length}`), [...targets], evs, o);
      const rcpu1 = procCpuSeconds(child.pid);
      const reflexRate = run.deliveries / run.seconds;
      const baseRate = base.deliveries / base.seconds;
      rows.push([label, num(run.deliveries), num(reflexRate), num(baseRate), pct(reflexRate / baseRate),
        num(run.cpuSeconds ?? NaN, 1), run.mainCpuSeconds != null ? num((run.mainCpuSeconds * 1e6) / run.deliveries) : 'n/a', rcpu0 !== null && rcpu1 !== null ? num(rcpu1 - rcpu0, 1) : 'n/a']);
    }
    out(table(rows));
  } finally {
    await child.stop();
  }
}
