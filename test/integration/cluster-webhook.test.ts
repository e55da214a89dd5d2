import { readFileSync, writeFileSync } from 'node:fs';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKafka, type KafkaTestbed } from '../../testbed/kafka.js';
import { ClusterRun, clusterNames, waitSettled } from '../support/cluster.js';
import { GatewayPosters } from '../support/gateway-posters.js';
import { batchesOf, shopWorkload } from '../support/shop-workload.js';
import { readTopics, type TopicMessage } from '../support/topic-reader.js';
import { eventually, startReceiver, type Receiver } from '../support/webhook-receiver.js';

// A webhook sink in cluster mode (issue 17): real reflex processes on a real broker deliver the
// events and change records from the topics the partition owners write, as a consumer group of the
// sink's own. The receiver fails every fourth request, and one instance is killed with -9 while
// deliveries are under way: every record still arrives (at least once), signed, in order per key.
const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

let kafka: KafkaTestbed;
let receiver: Receiver;
let run: ClusterRun;

beforeAll(async () => {
  kafka = await startKafka();
  receiver = await startReceiver(({ n }) => (n % 4 === 3 ? { status: 500 } : { status: 204, delayMs: 2 }));
}, 180_000);
afterAll(async () => {
  await run?.stop();
  await receiver?.close();
  await kafka?.stop();
});

/** The webhook id reflex gives a record: the event's own id, or `<stream>-<partition>-<offset>` for a change record. */
function webhookId(m: TopicMessage, stream: string): string {
  return m.headers.ce_id ?? `${stream}-${m.partition}-${m.offset}`;
}

describe('a webhook sink in cluster mode', () => {
  it('delivers every event and change record of the output topics, signed, retried after failures, in order per key, across a kill -9', async () => {
    run = new ClusterRun(kafka.brokers, clusterNames('hook'), 4);
    // The sink next to the kafka sink, and a retry schedule a test can wait for.
    const config = readFileSync(run.config, 'utf8').replace(/^sinks:\n/m, `sinks:\n  - { type: webhook, url: "${receiver.url}", secret: "${SECRET}" }\n`);
    writeFileSync(run.config, `${config}webhooks: { allowPrivateAddresses: true, retrySchedule: ["0s", "200ms", "200ms", "200ms", "200ms"] }\n`);
    for (let i = 0; i < 2; i++) await run.start();
    await waitSettled(run, { members: 2 });

    const workload = shopWorkload({ seed: 7, calls: 400, keysPerResource: 40, startMs: Date.parse('2026-12-01T00:00:00Z'), stepMs: 2, idPrefix: `h${Date.now().toString(36)}` });
    const posters = new GatewayPosters(batchesOf(workload.logs, 20), () => run.live().map((i) => i.url), { concurrency: 2, pauseMs: 100 });
    await posters.done;
    // Deliveries are under way (the receiver has answered some): one instance dies with -9.
    await eventually(() => receiver.requests.length > 50, 30_000, 'the first deliveries');
    await run.instances[1]!.process.kill9();
    await waitSettled(run, { caughtUp: true, members: 1, timeoutMs: 60_000 });

    const streams = ['alerts', 'customers', 'customers.changelog', 'orders', 'orders.changelog', 'payments'];
    const messages = (await readTopics(kafka.brokers, streams.map((s) => `${run.names.prefix}.${s}`))).filter((m) => m.value !== null);
    const streamOf = (m: TopicMessage) => m.topic.slice(run.names.prefix.length + 1);
    const expected = new Set(messages.map((m) => webhookId(m, streamOf(m))));
    expect(expected.size).toBeGreaterThan(300);
    const delivered = () => new Set(receiver.requests.filter((r) => r.status < 300).map((r) => r.headers['webhook-id'] as string));
    await eventually(() => [...expected].every((id) => delivered().has(id)), 60_000, 'every record delivered');
    expect([...delivered()].filter((id) => !expected.has(id))).toEqual([]);
    expect(receiver.requests.some((r) => r.status === 500)).toBe(true);

    // Signed with the sink's secret; the body is the event (a change record inside a CloudEvent).
    const verifier = new Webhook(SECRET);
    for (const r of receiver.requests.slice(0, 50)) {
      const headers = { 'webhook-id': r.headers['webhook-id'] as string, 'webhook-timestamp': r.headers['webhook-timestamp'] as string, 'webhook-signature': r.headers['webhook-signature'] as string };
      expect((verifier.verify(r.body, headers) as { id: string }).id).toBe(headers['webhook-id']);
    }

    // Per key (and topic) the first delivery of each record follows the topic's order.
    const firstDelivered = new Map<string, number>();
    receiver.requests.forEach((r, i) => {
      const id = r.headers['webhook-id'] as string;
      if (r.status < 300 && !firstDelivered.has(id)) firstDelivered.set(id, i);
    });
    const byKey = new Map<string, TopicMessage[]>();
    for (const m of messages) {
      const k = `${m.topic}/${m.key}`;
      byKey.set(k, [...(byKey.get(k) ?? []), m]);
    }
    const outOfOrder: string[] = [];
    for (const [key, list] of byKey) {
      const order = list.sort((a, b) => a.offset - b.offset).map((m) => firstDelivered.get(webhookId(m, streamOf(m)))!);
      if (order.some((at, i) => i > 0 && at < order[i - 1]!)) outOfOrder.push(key);
    }
    expect(outOfOrder).toEqual([]);
  }, 240_000);
});
