import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKafka, type KafkaTestbed } from '../../testbed/kafka.js';
import { clusterView, settledCluster, waitSettled, type ClusterRun } from '../support/cluster.js';
import { GatewayPosters } from '../support/gateway-posters.js';
import { batchesOf, shopWorkload } from '../support/shop-workload.js';
import { readTopics, type TopicMessage } from '../support/topic-reader.js';

// GET /streams/{name}/tail in cluster mode: a live tail of a stream's Kafka topic over all its
// partitions, served by any instance. Two reflex processes on one real broker; the tail is compared
// with the topic as a read_committed consumer reads it.
const PARTITIONS = 3;

let kafka: KafkaTestbed;
let run: ClusterRun;

beforeAll(async () => {
  kafka = await startKafka();
  run = await settledCluster(kafka.brokers, 'tail', PARTITIONS, 2);
}, 120_000);
afterAll(async () => {
  await run?.stop();
  await kafka?.stop();
});

interface TailRecord {
  partition: number;
  offset: number;
  key: string | null;
  value: { id: string; reflexrequestid: string; data: unknown };
}
interface SseEvent {
  id: string;
  record: TailRecord;
}

/** An open SSE connection: its preamble, and each event as it arrives. */
class Tail {
  readonly events: SseEvent[] = [];
  preamble = '';
  ended = false;
  private constructor(readonly response: Response, private readonly abort: AbortController) {}

  static async open(url: string, headers: Record<string, string> = {}): Promise<Tail> {
    const abort = new AbortController();
    const t = new Tail(await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: abort.signal }), abort);
    if (t.response.status === 200) void t.read();
    return t;
  }

  private async read(): Promise<void> {
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of this.response.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const id = /^id: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (id !== undefined && data !== undefined) this.events.push({ id, record: JSON.parse(data) as TailRecord });
          else if (this.events.length === 0) this.preamble += block + '\n\n';
        }
      }
    } catch {
      // aborted
    }
    this.ended = true;
  }

  async until(test: () => boolean, what: string, ms = 20_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!test()) {
      if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms (${this.events.length} events)\n${run.logs()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  close(): void {
    this.abort.abort();
  }
}

const tailUrl = (base: string, stream: string, query = '') => `${base}/streams/${stream}/tail${query}`;
const where = (partition: number, offset: number) => `${partition}-${offset}`;
const eventIdOf = (m: TopicMessage) => m.headers.ce_id!;

/** Each partition's offsets in the order the tail delivered them, and the (partition, offset) pairs seen more than once. */
function perPartition(events: SseEvent[]): { offsets: Map<number, number[]>; twice: string[] } {
  const offsets = new Map<number, number[]>();
  const seen = new Set<string>();
  const twice: string[] = [];
  for (const { record: r } of events) {
    offsets.set(r.partition, [...(offsets.get(r.partition) ?? []), r.offset]);
    if (seen.has(where(r.partition, r.offset))) twice.push(where(r.partition, r.offset));
    seen.add(where(r.partition, r.offset));
  }
  return { offsets, twice };
}

const ascending = (xs: number[]) => xs.every((x, i) => i === 0 || x > xs[i - 1]!);

describe('GET /streams/{name}/tail in cluster mode (real broker, real processes)', () => {
  it('a tail opened before the load gets every record of the stream once, in offset order per partition, whichever instance took the logs; it resumes after Last-Event-ID or `after`, and ends when its client goes', async () => {
    const [a, b] = run.instances as [typeof run.instances[0], typeof run.instances[0]];
    const topic = `${run.names.prefix}.orders`;

    // What the route refuses: an unknown stream, a malformed or impossible position.
    const unknown = await fetch(tailUrl(a!.url, 'nope'));
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ streams: expect.arrayContaining(['orders']) });
    for (const bad of ['x', '0-1,0-2', '1-', '0:4']) {
      const res = await fetch(tailUrl(a!.url, 'orders', `?after=${encodeURIComponent(bad)}`));
      expect(res.status, `after=${bad}`).toBe(400);
      expect(await res.json()).toMatchObject({ parameter: 'after' });
    }
    const beyond = await fetch(tailUrl(a!.url, 'orders', `?after=${PARTITIONS}-0`));
    expect(beyond.status).toBe(400);
    expect(await beyond.json()).toMatchObject({ parameter: 'after', error: expect.stringContaining(`${PARTITIONS} partitions`) });

    const live = await Tail.open(tailUrl(a!.url, 'orders'));
    expect(live.response.status).toBe(200);
    expect(live.response.headers.get('content-type')).toBe('text/event-stream');
    await live.until(() => live.preamble.includes('retry: 2000'), 'the preamble');
    expect(live.preamble).toContain(': reflex tail of orders\n');
    expect((await clusterView(a!.url)).tails).toBe(1);

    // About 600 calls in batches of 20, two posters round robin over both instances.
    const workload = shopWorkload({ seed: 41, calls: 600, keysPerResource: 60, startMs: Date.parse('2026-12-02T00:00:00Z'), stepMs: 2, idPrefix: `t${Date.now().toString(36)}` });
    const batches = batchesOf(workload.logs, 20);
    const posters = new GatewayPosters(batches, () => run.live().map((i) => i.url), { concurrency: 2, pauseMs: 50 });
    await posters.done;
    expect(posters.answers.filter((x) => x.status !== 200)).toEqual([]);
    await waitSettled(run, { caughtUp: true, members: 2 });

    // The topic as a read_committed consumer sees it once every change waited out its reorder window.
    const onTopic = (await readTopics(run.brokers, [topic])).sort((x, y) => x.partition - y.partition || x.offset - y.offset);
    expect(onTopic.length).toBeGreaterThan(50);
    expect(new Set(onTopic.map((m) => m.partition)).size, 'the stream spans several partitions').toBeGreaterThan(1);
    await live.until(() => live.events.length >= onTopic.length, 'the tail did not get what is on the topic');
    await new Promise((r) => setTimeout(r, 600)); // nothing more than that comes
    const { offsets, twice } = perPartition(live.events);
    expect(twice, 'records sent twice').toEqual([]);
    for (const [p, list] of offsets) expect(ascending(list), `partition ${p} in offset order`).toBe(true);
    const tailed = [...live.events].map((e) => e.record).sort((x, y) => x.partition - y.partition || x.offset - y.offset);
    expect(tailed.map((r) => `${where(r.partition, r.offset)} ${r.key} ${r.value.id}`)).toEqual(onTopic.map((m) => `${where(m.partition, m.offset)} ${m.key} ${eventIdOf(m)}`));
    // The records of logs that instance B took are in A's tail.
    const throughB = new Set(posters.answers.filter((x) => x.status === 200 && x.target === b!.url).flatMap((x) => batches[x.batch]!.map((l) => (l.request as { id: string }).id)));
    expect(throughB.size).toBeGreaterThan(0);
    expect(tailed.filter((r) => throughB.has(r.value.reflexrequestid)).length, 'events of logs posted through B').toBeGreaterThan(0);
    // Each id names the record first, then where the tail is on the other partitions.
    for (const e of live.events) expect(e.id.split(',')[0]).toBe(where(e.record.partition, e.record.offset));
    expect(live.events.at(-1)!.id.split(',').length).toBe(PARTITIONS);

    // EventSource reconnects with the last id it saw: the rest of what the first tail got, nothing before.
    const k = Math.floor(live.events.length / 2);
    const rest = live.events.slice(k + 1).map((e) => where(e.record.partition, e.record.offset)).sort();
    const resumed = await Tail.open(tailUrl(b!.url, 'orders'), { 'last-event-id': live.events[k]!.id });
    // `after` per partition: only later records of each partition named, and the unnamed one from its end.
    const mids = [...offsets].filter(([p]) => p !== 0).map(([p, list]) => [p, list[Math.floor(list.length / 2)]!] as const);
    const after = await Tail.open(tailUrl(a!.url, 'orders', `?after=${mids.map(([p, o]) => where(p, o)).join(',')}`));
    const later = tailed.filter((r) => mids.some(([p, o]) => r.partition === p && r.offset > o)).map((r) => where(r.partition, r.offset)).sort();
    await resumed.until(() => resumed.events.length >= rest.length, 'the tail resumed with Last-Event-ID');
    await after.until(() => after.events.length >= later.length, 'the tail resumed with after');
    await new Promise((r) => setTimeout(r, 600));
    expect(resumed.events.map((e) => where(e.record.partition, e.record.offset)).sort()).toEqual(rest);
    expect(after.events.map((e) => where(e.record.partition, e.record.offset)).sort()).toEqual(later);
    expect((await clusterView(a!.url)).tails).toBe(2);

    // Clients that go end the reading on the server.
    live.close();
    after.close();
    const deadline = Date.now() + 5_000;
    let tails = -1;
    while (tails !== 0 && Date.now() < deadline) {
      tails = (await clusterView(a!.url)).tails;
      if (tails !== 0) await new Promise((r) => setTimeout(r, 100));
    }
    expect(tails, 'tails still reading after their clients went').toBe(0);
    // An instance stopped with a tail open ends it and exits cleanly.
    expect(await b!.process.stop()).toBe(0);
    await resumed.until(() => resumed.ended, 'the tail of the stopped instance did not end', 5_000);
  }, 120_000);
});
