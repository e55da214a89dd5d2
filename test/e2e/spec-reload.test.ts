import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startReflexProcess, type ReflexProcess } from '../support/reflex-process.js';

// Specs reloaded while reflex serves (POST /specs/reload, SIGHUP): compiled completely first, an
// invalid one refused with its diagnostics while the old rules go on, a valid one swapped in between
// two batches. The load runs through the ingest workers (ingest.workers: 2), whose pool is replaced.

/** The shop's order rule, in version `version`; `audit` adds a second event to a new stream. */
function spec(version: string, opts: { audit?: boolean; broken?: boolean } = {}): string {
  const when = opts.broken ? 'response.status == ' : 'response.status == 201';
  return `openapi: 3.1.0
info: { title: Orders, version: '${version}' }
paths:
  /orders:
    post:
      operationId: placeOrder
      responses: { '201': { description: created } }
      x-reflex-events:
        - type: OrderPlaced
          stream: orders
          when: ${when}
          data: '{ "id": request.body.id, "rules": "${version}" }'
${opts.audit ? `        - type: OrderAudited
          stream: audit
          data: '{ "id": request.body.id, "rules": "${version}" }'
` : ''}`;
}

const exchange = (id: string) => JSON.stringify({
  request: { id, time: '2026-12-02T08:00:00Z', method: 'POST', path: '/orders', headers: { 'content-type': 'application/json' }, body: { id } },
  response: { status: 201, headers: { 'content-type': 'application/json' }, body: { id } },
});

interface Sent { ids: string[]; sentAt: number; answeredAt: number }
interface EventRecord { value: { type: string; data: { id: string; rules: string } } }

let dir: string;
let specFile: string;
let reflex: ReflexProcess;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'reflex-reload-'));
  specFile = join(dir, 'orders.yaml');
  writeFileSync(specFile, spec('v1'));
  const config = join(dir, 'reflex.yaml');
  writeFileSync(config, `specs: [${JSON.stringify(specFile)}]\nstore: { path: ${JSON.stringify(join(dir, 'reflex.db'))} }\ningest: { workers: 2 }\n`);
  reflex = await startReflexProcess(['--config', config]);
});
afterAll(async () => {
  await reflex?.kill9();
  rmSync(dir, { recursive: true, force: true });
});

/** Posts batches of 20 until stopped, 3 at a time, each sent again while answered 503. */
function load(prefix: string): { stop: () => Promise<Sent[]> } {
  const sent: Sent[] = [];
  let stopping = false;
  let next = 0;
  const poster = async () => {
    while (!stopping) {
      const batch = next++;
      const ids = Array.from({ length: 20 }, (_, i) => `${prefix}-${batch}-${i}`);
      const body = ids.map(exchange).join('\n');
      const sentAt = Date.now();
      for (;;) {
        const res = await fetch(`${reflex.url}/ingest/exchanges`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body });
        const text = await res.text();
        if (res.status === 200) break;
        if (res.status !== 503) throw new Error(`ingest answered ${res.status}: ${text}`);
      }
      sent.push({ ids, sentAt, answeredAt: Date.now() });
    }
  };
  const posters = [poster(), poster(), poster()];
  return {
    stop: async () => {
      stopping = true;
      await Promise.all(posters);
      return sent;
    },
  };
}

async function events(stream: string): Promise<EventRecord[]> {
  const all: Array<EventRecord & { offset: number }> = [];
  for (;;) {
    const after = all.length > 0 ? `&after=${all.at(-1)!.offset}` : '';
    const res = await fetch(`${reflex.url}/streams/${stream}/events?limit=1000${after}`);
    const page = (await res.json()) as Array<EventRecord & { offset: number }>;
    if (res.status !== 200) throw new Error(`GET /streams/${stream}/events answered ${res.status}: ${JSON.stringify(page)}`);
    if (page.length === 0 || (all.length > 0 && page[0]!.offset <= all.at(-1)!.offset)) return all;
    all.push(...page);
  }
}

const reload = async () => {
  const res = await fetch(`${reflex.url}/specs/reload`, { method: 'POST' });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};

const settle = () => new Promise((r) => setTimeout(r, 700));

describe('spec reload', () => {
  it('under load: nothing lost or processed twice, and what is sent after the swap follows the new rules (a new stream appears)', async () => {
    const loader = load('a');
    await settle();
    writeFileSync(specFile, spec('v2', { audit: true }));
    const asked = Date.now();
    const reloaded = await reload();
    const swapped = Date.now();
    expect(reloaded).toMatchObject({ status: 200, body: { reloaded: true, operations: 1, added: ['audit'], removed: [] } });
    await settle();
    const sent = await loader.stop();

    const orders = await events('orders');
    const byId = new Map<string, string[]>();
    for (const e of orders) byId.set(e.value.data.id, [...(byId.get(e.value.data.id) ?? []), e.value.data.rules]);
    const acknowledged = sent.flatMap((s) => s.ids);
    expect(acknowledged.filter((id) => byId.get(id)?.length !== 1), 'acknowledged exchanges without exactly one event').toEqual([]);
    expect(orders).toHaveLength(acknowledged.length);

    const before = sent.filter((s) => s.answeredAt < asked).flatMap((s) => s.ids);
    const after = sent.filter((s) => s.sentAt > swapped).flatMap((s) => s.ids);
    expect(before.length, 'batches answered before the reload').toBeGreaterThan(0);
    expect(after.length, 'batches sent after the reload').toBeGreaterThan(0);
    expect(before.filter((id) => byId.get(id)![0] !== 'v1')).toEqual([]);
    expect(after.filter((id) => byId.get(id)![0] !== 'v2')).toEqual([]);
    // The new stream has the audit event of every exchange processed with v2, and of no other.
    const audited = new Set((await events('audit')).map((e) => e.value.data.id));
    expect(acknowledged.filter((id) => (byId.get(id)![0] === 'v2') !== audited.has(id))).toEqual([]);
  }, 60_000);

  it('an invalid spec is refused with its diagnostics (file, line) and the old rules stay active', async () => {
    writeFileSync(specFile, spec('v3', { audit: true, broken: true }));
    const refused = await reload();
    expect(refused.status).toBe(422);
    expect(refused.body.error).toMatch(/old ones stay active/);
    expect(refused.body.diagnostics).toEqual(expect.arrayContaining([
      expect.objectContaining({ severity: 'error', file: specFile, line: 11, pointer: '/paths/~1orders/post/x-reflex-events/0/when' }),
    ]));
    expect(reflex.output()).toMatch(/spec reload refused: .*orders\.yaml:11/);

    const res = await fetch(`${reflex.url}/ingest/exchanges`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body: exchange('after-refusal') });
    expect(res.status).toBe(200);
    const last = (await events('orders')).at(-1)!;
    expect(last.value.data).toEqual({ id: 'after-refusal', rules: 'v2' });
  }, 30_000);

  it('SIGHUP reloads the spec files too', async () => {
    writeFileSync(specFile, spec('v4'));
    const logged = reflex.output().length;
    reflex.child.kill('SIGHUP');
    const deadline = Date.now() + 10_000;
    while (!/specs reloaded trigger=SIGHUP/.test(reflex.output().slice(logged)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(reflex.output().slice(logged)).toMatch(/specs reloaded trigger=SIGHUP .*removed=\["audit"\]/);

    await fetch(`${reflex.url}/ingest/exchanges`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body: exchange('after-sighup') });
    expect((await events('orders')).at(-1)!.value.data).toEqual({ id: 'after-sighup', rules: 'v4' });
    // A removed stream keeps its records.
    expect((await events('audit')).length).toBeGreaterThan(0);
  }, 30_000);
});

describe('reload.watch', () => {
  it('reloads when a spec file changes, and refuses an invalid change with the old rules kept', async () => {
    const wdir = mkdtempSync(join(tmpdir(), 'reflex-watch-'));
    const file = join(wdir, 'orders.yaml');
    writeFileSync(file, spec('w1'));
    const config = join(wdir, 'reflex.yaml');
    writeFileSync(config, `specs: [orders.yaml]\nstore: { path: reflex.db }\nreload: { watch: true }\n`);
    const watched = await startReflexProcess(['--config', config]);
    const post = (id: string) => fetch(`${watched.url}/ingest/exchanges`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body: exchange(id) });
    const last = async () => ((await (await fetch(`${watched.url}/streams/orders/events?limit=1000`)).json()) as EventRecord[]).at(-1)!.value.data;
    const logged = async (pattern: RegExp, from: number) => {
      const deadline = Date.now() + 10_000;
      while (!pattern.test(watched.output().slice(from)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      return watched.output().slice(from);
    };
    try {
      await post('w-1');
      expect(await last()).toEqual({ id: 'w-1', rules: 'w1' });

      let from = watched.output().length;
      writeFileSync(file, spec('w2'));
      expect(await logged(/specs reloaded trigger=watch/, from)).toMatch(/specs reloaded trigger=watch/);
      await post('w-2');
      expect(await last()).toEqual({ id: 'w-2', rules: 'w2' });

      from = watched.output().length;
      writeFileSync(file, spec('w3', { broken: true }));
      expect(await logged(/spec reload refused/, from)).toMatch(/spec reload refused: .*orders\.yaml:11.*trigger=watch/);
      await post('w-3');
      expect(await last()).toEqual({ id: 'w-3', rules: 'w2' });
    } finally {
      await watched.kill9();
      rmSync(wdir, { recursive: true, force: true });
    }
  }, 40_000);
});
