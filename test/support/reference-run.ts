/**
 * The reference for cluster mode: the same spec and logs through one reflex without `cluster:`
 * (embedded store), whose Kafka sink writes the same streams under another topic prefix. Batches
 * are posted one after another, in order.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { outputsOf, type Outputs } from './cluster-outputs.js';
import { pidsUsing, SHOP_SPEC } from './cluster.js';
import { startReflexProcess } from './reflex-process.js';
import { readTopics, topicsWithPrefix } from './topic-reader.js';
import { eventually } from './webhook-receiver.js';
import { CLUSTER_REORDER_WINDOW } from './cluster.js';

export interface Reference {
  outputs: Outputs;
  /** Output streams (topic names without the prefix), e.g. orders, orders.changelog. */
  streams: string[];
}

export async function referenceRun(brokers: string[], prefix: string, batches: unknown[][], reorderWindow = CLUSTER_REORDER_WINDOW): Promise<Reference> {
  const dir = mkdtempSync(join(tmpdir(), 'reflex-reference-'));
  const config = join(dir, 'reflex.yaml');
  writeFileSync(config, `sinks:\n  - { type: kafka, brokers: ${JSON.stringify(brokers)}, topic: "${prefix}.{stream}" }\ncdc: { reorderWindow: ${reorderWindow} }\n`);
  const reflex = await startReflexProcess(['--spec', SHOP_SPEC, '--config', config, '--data', join(dir, 'data')]).catch((e: unknown) => {
    for (const pid of pidsUsing(dir)) process.kill(pid, 'SIGKILL');
    throw e;
  });
  try {
    for (const [i, batch] of batches.entries()) {
      const res = await fetch(`${reflex.url}/ingest/kong`, { method: 'POST', body: JSON.stringify(batch), headers: { 'content-type': 'application/json' } });
      if (res.status !== 200) throw new Error(`reference run: batch ${i} answered ${res.status}: ${await res.text()}`);
    }
    const json = async (path: string) => (await (await fetch(`${reflex.url}${path}`)).json()) as Array<Record<string, unknown>>;
    await eventually(async () => (await json('/resources')).every((r) => r.pending === 0), 30_000, 'the reference run to apply its pending changes');
    await eventually(async () => {
      const lag = (await json('/sinks'))[0]!.lag as Record<string, number>;
      return Object.keys(lag).length > 0 && Object.values(lag).every((n) => n === 0);
    }, 30_000, 'the reference run\'s Kafka sink to deliver everything');
  } finally {
    await reflex.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  const topics = await topicsWithPrefix(brokers, `${prefix}.`);
  const outputs = outputsOf(await readTopics(brokers, topics), prefix);
  return { outputs, streams: topics.map((t) => t.slice(prefix.length + 1)) };
}
