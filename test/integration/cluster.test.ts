import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startKafka, type KafkaTestbed } from '../../testbed/kafka.js';
import { ClusterRun, clusterNames, clusterView, ownersOf, waitSettled, type ClusterView } from '../support/cluster.js';
import { acknowledgedDifferences, changeDifferences, eventDifferences, outputsOf, stateDifferences, type Outputs } from '../support/cluster-outputs.js';
import { GatewayPosters } from '../support/gateway-posters.js';
import { referenceRun, type Reference } from '../support/reference-run.js';
import { batchesOf, shopWorkload, type Workload } from '../support/shop-workload.js';
import { readTopics } from '../support/topic-reader.js';

// Cluster mode (issue 17): reflex instances as real processes sharing one real Kafka broker. Every
// scenario posts the same shop workload (a simulated backend's calls as Kong logs) and compares
// what lands on the output topics with a single-instance run of the same logs and with the
// backend's final state, key by key.
const PARTITIONS = 6;
const BATCH = 20;

let kafka: KafkaTestbed;
let workload: Workload;
let batches: Array<Array<Record<string, unknown>>>;
let reference: Reference;
const runs: ClusterRun[] = [];

beforeAll(async () => {
  kafka = await startKafka();
  workload = shopWorkload({ seed: 17, calls: 2_000, keysPerResource: 150, startMs: Date.parse('2026-12-01T00:00:00Z'), stepMs: 2, idPrefix: `w${Date.now().toString(36)}` });
  batches = batchesOf(workload.logs, BATCH);
  reference = await referenceRun(kafka.brokers, clusterNames('ref').prefix, batches);
}, 180_000);
afterEach(async () => {
  for (const run of runs.splice(0)) await run.stop();
});
afterAll(async () => {
  await kafka?.stop();
});

/** `instances` started one after the other (as a deployment rolls out) on fresh topics and group, and settled. */
async function startCluster(brokers: string[], label: string, instances: number): Promise<{ run: ClusterRun; views: ClusterView[] }> {
  const run = new ClusterRun(brokers, clusterNames(label), PARTITIONS);
  runs.push(run);
  for (let i = 0; i < instances; i++) await run.start();
  return { run, views: await waitSettled(run, { members: instances }) };
}

/** GET /cluster's own account of being caught up: lag 0 on every owned partition (expected of settled views). */
const reportedLags = (views: ClusterView[]) => views.flatMap((v) => v.owned.filter((o) => o.lag !== 0).map((o) => `${v.instance} partition ${o.partition}: lag ${o.lag} (nextOffset ${o.nextOffset}, highWatermark ${o.highWatermark})`));

/** Four posters round robin over the live instances, each pausing between batches: about 12 s of load. */
const postTo = (run: ClusterRun, opts: { batchTimeoutMs?: number; pauseMs?: number } = {}) => new GatewayPosters(batches, () => run.live().map((i) => i.url), { concurrency: 4, pauseMs: 400, ...opts });

const requestIds = (indexes: Iterable<number>) => new Set([...indexes].flatMap((i) => batches[i]!.map((l) => (l.request as { id: string }).id)));

/**
 * The cluster's outputs once they hold every event of the reference and the backend's final states
 * (change records of the last partitions to catch up may still be on their way); the last read
 * after `timeoutMs` otherwise, for the assertions to show what differs.
 */
async function clusterOutputs(run: ClusterRun, timeoutMs = 20_000): Promise<Outputs> {
  const topics = reference.streams.map((s) => `${run.names.prefix}.${s}`);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const outputs = outputsOf(await readTopics(run.brokers, topics), run.names.prefix);
    const complete = [...reference.outputs.events.keys()].every((id) => outputs.events.has(id)) && stateDifferences(workload.truth, outputs).length === 0;
    if (complete || Date.now() > deadline) return outputs;
    await new Promise((r) => setTimeout(r, 1_000));
  }
}

describe('the reference: one reflex without cluster mode', () => {
  it('ends at the simulated backend\'s state key by key, and writes every stream of the workload', () => {
    expect(stateDifferences(workload.truth, reference.outputs)).toEqual([]);
    expect(reference.streams).toEqual(['alerts', 'customers', 'customers.changelog', 'orders', 'orders.changelog', 'payments']);
    // Deletes (and their tombstones), updates that changed nothing, and conflicts are in the workload.
    const ops = [...reference.outputs.changes.values()].flat().map((c) => (c === null ? 'tombstone' : String(c.op)));
    expect(new Set(ops)).toEqual(new Set(['c', 'u', 'd', 'tombstone']));
  });

  it('the comparisons see an event written twice or lost, change records of a key swapped, and a state that is not the backend\'s', () => {
    const ref = reference.outputs;
    const [[twice, copies], [lost]] = [...ref.events];
    const events = new Map(ref.events);
    events.set(twice, [...copies!, copies![0]!]);
    events.delete(lost);
    const [swapped, records] = [...ref.changes].find(([, r]) => r.length >= 3 && r.at(-1) !== null)!;
    const changes = new Map(ref.changes);
    changes.set(swapped, [records[1]!, records[0]!, ...records.slice(2, -1), { ...records.at(-1)!, after: { id: 'other' } }]);
    const wrong = { events, changes };
    expect(eventDifferences(ref, wrong).join('\n')).toMatch(new RegExp(`event ${twice} .* written 2 times[^]*event ${lost} .* missing`));
    expect(changeDifferences(ref, wrong)[0]).toMatch(new RegExp(`^${swapped}: ${records.length} change records, expected ${records.length}; first difference at #0`));
    expect(stateDifferences(workload.truth, wrong)).toEqual([expect.stringContaining(`${swapped}: state {"id":"other"}`)]);
    expect.soft(acknowledgedDifferences(ref, wrong, new Set([copies![0]!.headers.ce_reflexrequestid!]))[0]).toMatch(/appears 2 times/);
  });
});

describe('cluster mode on Kafka (real broker, real processes)', () => {
  it('three instances, logs posted to all three: the same events and change records as one instance, each event once, per-key order kept', async () => {
    const { run } = await startCluster(kafka.brokers, 'three', 3);
    const posters = postTo(run, { pauseMs: 0 }); // as fast as it goes: the most batches in flight at once
    await posters.done;
    expect(posters.answers.filter((a) => a.status !== 200), 'a healthy cluster refused a batch').toEqual([]);
    expect(new Set(posters.answers.map((a) => a.target)).size).toBe(3);

    const caughtUp = await waitSettled(run, { caughtUp: true, members: 3 });
    expect.soft(reportedLags(caughtUp)).toEqual([]);
    const outputs = await clusterOutputs(run);
    expect.soft(eventDifferences(reference.outputs, outputs), run.logs()).toEqual([]);
    expect.soft(changeDifferences(reference.outputs, outputs)).toEqual([]);

    // The consumer API reads the topics: a stream's partitions, paged through any instance, hold each
    // of its events once, as the topics do; a stream of several partitions needs `partition`.
    const api = run.instances[0]!.url;
    const listed = (await (await fetch(`${api}/streams`)).json()) as Array<{ name: string; topic: string; partitions: Array<{ partition: number; nextOffset: number }> }>;
    expect(listed.map((s) => s.name).sort()).toEqual(reference.streams);
    const orders = listed.find((s) => s.name === 'orders')!;
    expect(orders.topic).toBe(`${run.names.prefix}.orders`);
    const unnamed = await fetch(`${api}/streams/orders/events`);
    expect(unnamed.status).toBe(400);
    expect(await unnamed.json()).toMatchObject({ parameter: 'partition', error: expect.stringMatching(/partition=<0-\d+>/) });
    const ids: string[] = [];
    for (const { partition } of orders.partitions) {
      const from = run.instances[partition % run.instances.length]!.url;
      for (let after: number | null = null; ;) {
        const page = (await (await fetch(`${from}/streams/orders/events?partition=${partition}&limit=250${after === null ? '' : `&after=${after}`}`)).json()) as Array<{ partition: number; offset: number; value: { id: string; type: string } }>;
        if (page.length === 0) break;
        expect(page.every((r, i) => r.partition === partition && (i === 0 ? after === null || r.offset > after : r.offset > page[i - 1]!.offset))).toBe(true);
        ids.push(...page.map((r) => r.value.id));
        after = page.at(-1)!.offset;
      }
    }
    const expected = [...outputs.events].filter(([, copies]) => copies[0]!.stream === 'orders').map(([id]) => id);
    expect(ids.sort()).toEqual(expected.sort());

    // Lists of resource keys are gathered from every partition owner: paged through different
    // instances, each live key once, in key order, with the backend's state; the counts add up.
    for (const name of ['customers', 'orders']) {
      const want = [...workload.truth].filter(([, t]) => t.resource === name && t.state !== null).map(([key, t]) => [key, t.state]).sort(([a], [b]) => (String(a) < String(b) ? -1 : 1));
      const got: Array<[string, unknown]> = [];
      for (let page = 0, after = ''; ; page++) {
        const from = run.instances[page % run.instances.length]!.url;
        const res = await fetch(`${from}/resources/${name}?limit=40${after ? `&after=${encodeURIComponent(after)}` : ''}`);
        expect(res.status, await res.clone().text()).toBe(200);
        const rows = (await res.json()) as Array<{ key: string; state: unknown; version: number; time: string }>;
        if (rows.length === 0) break;
        got.push(...rows.map((r) => [r.key, r.state] as [string, unknown]));
        after = rows.at(-1)!.key;
      }
      expect(got, `GET /resources/${name}`).toEqual(want);
    }
    const counts = (await (await fetch(`${run.instances[1]!.url}/resources`)).json()) as Array<{ name: string; keys: number; deleted: number; pending: number }>;
    const truthOf = (name: string) => [...workload.truth.values()].filter((t) => t.resource === name);
    expect(counts.sort((a, b) => a.name.localeCompare(b.name))).toEqual(['customers', 'orders'].map((name) => ({
      name, keys: truthOf(name).filter((t) => t.state !== null).length, deleted: truthOf(name).filter((t) => t.state === null).length, pending: 0,
    })));
  }, 120_000);

  it('kill -9 of one instance mid-load: every acknowledged exchange once, its partitions restored on the survivors, the CDC state equal to the backend\'s', async () => {
    const { run, views: settled } = await startCluster(kafka.brokers, 'kill', 3);
    const before = ownersOf(settled);
    const posters = postTo(run);
    await posters.acknowledgedAtLeast(Math.floor(batches.length * 0.4));
    const victim = run.instances[1]!;
    const victimView = await clusterView(victim.url);
    const moved = victimView.owned.map((o) => o.partition);
    expect(moved.length).toBeGreaterThan(0);
    const ackedAtKill = posters.acknowledged.length;
    await victim.process.kill9();
    await posters.done;
    expect(ackedAtKill, 'the kill came before the load ended').toBeLessThan(batches.length);
    expect(posters.answers.filter((a) => a.status !== 200 && a.status !== 0 && a.status !== 503)).toEqual([]);

    const views = await waitSettled(run, { caughtUp: true, members: 2, timeoutMs: 60_000 });
    expect.soft(reportedLags(views)).toEqual([]);
    const after = ownersOf(views);
    for (const p of moved) {
      expect(before.get(p)).toBe(victimView.instance);
      expect(after.get(p), `partition ${p} of the killed instance`).not.toBe(victimView.instance);
      const owned = views.flatMap((v) => v.owned).find((o) => o.partition === p)!;
      expect(owned.restoredRecords, `partition ${p} was restored from its changelog`).toBeGreaterThan(0);
    }

    const outputs = await clusterOutputs(run);
    expect.soft(acknowledgedDifferences(reference.outputs, outputs, requestIds(posters.acknowledged))).toEqual([]);
    expect.soft(eventDifferences(reference.outputs, outputs), run.logs()).toEqual([]);
    expect.soft(stateDifferences(workload.truth, outputs)).toEqual([]);
  }, 120_000);

  it('a fourth instance added mid-load: partitions rebalance onto it, nothing lost, nothing twice; stopped when idle, its partitions move back caught up', async () => {
    const { run } = await startCluster(kafka.brokers, 'grow', 3);
    // A slower load (about 20 s): joining and restoring takes the fourth some 10 s on this machine.
    const posters = postTo(run, { pauseMs: 700 });
    await posters.acknowledgedAtLeast(Math.floor(batches.length * 0.1));
    const fourth = await run.start();
    await waitSettled(run, { members: 4 });
    const ackedAtRebalance = posters.acknowledged.length;
    await posters.done;
    expect(ackedAtRebalance, 'the rebalance was over before the load ended').toBeLessThan(batches.length);
    expect(posters.answers.filter((a) => a.status !== 200), 'a healthy cluster refused a batch').toEqual([]);

    const caughtUp = await waitSettled(run, { caughtUp: true, members: 4 });
    expect.soft(reportedLags(caughtUp)).toEqual([]);
    const fourthView = await clusterView(fourth.url);
    expect(fourthView.owned.length, 'the fourth instance owns partitions').toBeGreaterThan(0);

    const outputs = await clusterOutputs(run);
    expect.soft(acknowledgedDifferences(reference.outputs, outputs, requestIds(posters.acknowledged))).toEqual([]);
    expect.soft(eventDifferences(reference.outputs, outputs), run.logs()).toEqual([]);
    expect.soft(stateDifferences(workload.truth, outputs)).toEqual([]);
    expect.soft(changeDifferences(reference.outputs, outputs)).toEqual([]);

    // Scaled down again once idle: its partitions move with no new input and are reported caught up.
    const moved = fourthView.owned.map((o) => o.partition);
    expect(await fourth.process.stop()).toBe(0);
    const after = await waitSettled(run, { caughtUp: true, members: 3 });
    expect(after.flatMap((v) => v.owned.map((o) => o.partition)).filter((p) => moved.includes(p)).sort()).toEqual([...moved].sort());
    expect(reportedLags(after)).toEqual([]);
  }, 90_000);

  it('the broker paused mid-load: ingest answers 503 with Retry-After while it is down, and nothing acknowledged is lost', async () => {
    // Its own broker: pausing the shared one would disturb other tests.
    const broker = await startKafka({ reuse: false });
    try {
      const { run } = await startCluster(broker.brokers, 'pause', 2);
      const posters = postTo(run, { batchTimeoutMs: 90_000 });
      await posters.acknowledgedAtLeast(Math.floor(batches.length * 0.25));
      await broker.pause();
      const down = Date.now();
      // Every poster is refused at least once while the broker is down.
      const deadline = Date.now() + 30_000;
      while (new Set(posters.answers.filter((a) => a.at > down && a.status === 503).map((a) => a.batch)).size < 4 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
      }
      const up = Date.now();
      await broker.resume();
      await posters.done;

      const whileDown = posters.answers.filter((a) => a.at > down + 500 && a.at < up);
      expect(whileDown.filter((a) => a.status === 503).length, 'ingest refused while the broker was down').toBeGreaterThan(0);
      expect(whileDown.filter((a) => a.status === 200), 'acknowledged while the broker was down').toEqual([]);
      expect(posters.answers.filter((a) => a.status === 503 && !(Number(a.retryAfter) > 0)), '503 without Retry-After').toEqual([]);
      expect(posters.answers.filter((a) => a.status !== 200 && a.status !== 503)).toEqual([]);

      const caughtUp = await waitSettled(run, { caughtUp: true, members: 2, timeoutMs: 60_000 });
      expect.soft(reportedLags(caughtUp)).toEqual([]);
      const outputs = await clusterOutputs(run);
      expect.soft(acknowledgedDifferences(reference.outputs, outputs, requestIds(posters.acknowledged))).toEqual([]);
      expect.soft(eventDifferences(reference.outputs, outputs), run.logs()).toEqual([]);
      expect.soft(stateDifferences(workload.truth, outputs)).toEqual([]);
    } finally {
      for (const run of runs.splice(0)) await run.stop();
      await broker.stop();
    }
  }, 150_000);
});
