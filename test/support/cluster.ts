/**
 * Harness for cluster-mode tests (issue 17): reflex instances as real processes on one Kafka
 * broker, their `GET /cluster` view, and a settle check (every partition of the exchanges topic
 * owned once, running, caught up).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { startReflexProcess, type ReflexProcess } from './reflex-process.js';

export const SHOP_SPEC = 'examples/shop/openapi.yaml';

/** Fresh names per run: topics, consumer group and transactional ids are never shared between runs. */
export interface ClusterNames {
  /** Output topics are `<prefix>.{stream}`. */
  prefix: string;
  exchangesTopic: string;
  group: string;
}

let runs = 0;
export function clusterNames(label: string): ClusterNames {
  const id = `${label}${Date.now().toString(36)}${++runs}`;
  return { prefix: id, exchangesTopic: `${id}.exchanges`, group: id };
}

export interface OwnedPartition {
  partition: number;
  status: 'restoring' | 'running';
  restoredRecords: number;
  restoreMs: number;
  nextOffset: number;
  highWatermark: number;
  lag: number;
  /** CDC changes waiting for their reorder window (the engine's addition to the contract). */
  pending?: number;
}

export interface ClusterView {
  instance: string;
  group: string;
  exchangesTopic: string;
  partitions: number;
  members: Array<{ memberId: string; clientId: string; host: string; partitions: number[] }>;
  owned: OwnedPartition[];
  /** Live tails (GET /streams/{name}/tail) the instance reads for. */
  tails: number;
}

export interface ClusterInstance {
  name: string;
  url: string;
  dir: string;
  process: ReflexProcess;
}

/**
 * The reorder window of the cluster runs and of their single-node reference. The comparison of
 * change records holds only while every exchange reaches its owner within the window of the others
 * (four posters in parallel): 1 s of request time is 25 batches of this workload, which one stalled
 * request on a loaded CI machine outran (a create arriving after the key's read). 5 s is longer
 * than the workload's whole request time, so changes wait for the wall-clock rule instead.
 */
export const CLUSTER_REORDER_WINDOW = '5s';

/** A temp folder with reflex.yaml for one cluster; each instance gets its own data folder inside. */
export class ClusterRun {
  readonly dir = mkdtempSync(join(tmpdir(), 'reflex-cluster-'));
  readonly config = join(this.dir, 'reflex.yaml');
  readonly instances: ClusterInstance[] = [];

  constructor(readonly brokers: string[], readonly names: ClusterNames, readonly partitions: number, reorderWindow = CLUSTER_REORDER_WINDOW) {
    const list = JSON.stringify(brokers);
    writeFileSync(this.config, [
      'cluster:',
      `  kafka: { brokers: ${list} }`,
      `  exchangesTopic: ${names.exchangesTopic}`,
      `  partitions: ${partitions}`,
      `  group: ${names.group}`,
      // A killed instance's partitions move after this (the brokers' minimum); the default is 30s.
      '  sessionTimeout: 6s',
      'sinks:',
      `  - { type: kafka, brokers: ${list}, topic: "${names.prefix}.{stream}" }`,
      `cdc: { reorderWindow: ${reorderWindow} }`,
      '',
    ].join('\n'));
  }

  async start(name = `i${this.instances.length + 1}`): Promise<ClusterInstance> {
    const data = join(this.dir, name);
    const child = await startReflexProcess(['--spec', SHOP_SPEC, '--config', this.config, '--data', data]);
    const instance = { name, url: child.url, dir: data, process: child };
    this.instances.push(instance);
    return instance;
  }

  /** The instances still running (not killed or stopped). */
  live(): ClusterInstance[] {
    return this.instances.filter((i) => i.process.child.exitCode === null && i.process.child.signalCode === null);
  }

  async stop(): Promise<void> {
    await Promise.all(this.live().map((i) => i.process.stop()));
    // An instance whose start timed out was never handed back (startReflexProcess leaves it running).
    for (const pid of pidsUsing(this.dir)) process.kill(pid, 'SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Output of every instance, for a failure message. */
  logs(lines = 30): string {
    return this.instances.map((i) => `--- ${i.name} (${i.url}) ---\n${i.process.output().trimEnd().split('\n').slice(-lines).join('\n')}`).join('\n');
  }
}

/** Processes whose command line names `dir` (this run's config and data folders). */
/** `instances` reflex processes started one after the other on fresh topics and group `label`, once their group settled. */
export async function settledCluster(brokers: string[], label: string, partitions: number, instances: number, reorderWindow?: string): Promise<ClusterRun> {
  const run = new ClusterRun(brokers, clusterNames(label), partitions, reorderWindow);
  try {
    for (let i = 0; i < instances; i++) await run.start();
    await waitSettled(run, { members: instances });
  } catch (err) {
    await run.stop();
    throw err;
  }
  return run;
}

export function pidsUsing(dir: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(dir)) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

export async function clusterView(url: string): Promise<ClusterView> {
  const res = await fetch(`${url}/cluster`);
  if (res.status !== 200) throw new Error(`GET ${url}/cluster answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as ClusterView;
}

/**
 * Why the cluster is not settled yet, or null when it is: each partition owned once and running;
 * with `ends` (the exchanges topic's end offsets, as Kafka has them), also processed to the end with
 * no change waiting for its reorder window.
 */
export function unsettled(views: ClusterView[], partitions: number, ends?: Map<number, number>): string | null {
  const owners = new Map<number, string[]>();
  for (const v of views) {
    for (const o of v.owned) {
      if (o.status !== 'running') return `${v.instance} is ${o.status} partition ${o.partition}`;
      if (ends && o.nextOffset !== (ends.get(o.partition) ?? 0)) return `${v.instance} is at offset ${o.nextOffset} of ${ends.get(o.partition) ?? 0} on partition ${o.partition}`;
      if (ends && (o.pending ?? 0) !== 0) return `${v.instance} has ${o.pending} changes pending on partition ${o.partition}`;
      owners.set(o.partition, [...(owners.get(o.partition) ?? []), v.instance]);
    }
  }
  for (let p = 0; p < partitions; p++) {
    const who = owners.get(p) ?? [];
    if (who.length !== 1) return `partition ${p} is owned by ${who.length === 0 ? 'nobody' : who.join(', ')}`;
  }
  if (owners.size !== partitions) return `owned partitions ${[...owners.keys()].sort((a, b) => a - b).join(',')} of ${partitions}`;
  return null;
}

/** The exchanges topic's end offset per partition. */
export async function endOffsets(run: ClusterRun): Promise<Map<number, number>> {
  const admin = new Kafka({ brokers: run.brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    return new Map((await admin.fetchTopicOffsets(run.names.exchangesTopic)).map((p) => [p.partition, Number(p.high)]));
  } finally {
    await admin.disconnect();
  }
}

/**
 * Polls `GET /cluster` of every live instance until the cluster is settled; with `caughtUp`, also
 * every partition processed to the exchanges topic's end with nothing pending, for `quietMs` on end.
 */
export async function waitSettled(run: ClusterRun, opts: { caughtUp?: boolean; quietMs?: number; timeoutMs?: number; members?: number } = {}): Promise<ClusterView[]> {
  const deadline = Date.now() + (opts.timeoutMs ?? 45_000);
  let reason = '';
  let settledSince = 0;
  for (;;) {
    const live = run.live();
    let views: ClusterView[] = [];
    try {
      const ends = opts.caughtUp ? await endOffsets(run) : undefined;
      views = await Promise.all(live.map((i) => clusterView(i.url)));
      reason = unsettled(views, run.partitions, ends) ?? '';
      if (!reason && opts.members !== undefined && views.some((v) => v.members.length !== opts.members)) {
        reason = `members ${views.map((v) => `${v.instance}:${v.members.length}`).join(' ')}, expected ${opts.members}`;
      }
    } catch (e) {
      reason = String(e);
    }
    if (!reason) {
      if (!opts.caughtUp) return views;
      if (settledSince === 0) settledSince = Date.now();
      else if (Date.now() - settledSince >= (opts.quietMs ?? 1_500)) return views;
    } else settledSince = 0;
    if (Date.now() > deadline) throw new Error(`cluster not settled after ${opts.timeoutMs ?? 45_000} ms: ${reason}\n${run.logs()}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Which instance owns each partition (from settled views). */
export function ownersOf(views: ClusterView[]): Map<number, string> {
  const m = new Map<number, string>();
  for (const v of views) for (const o of v.owned) m.set(o.partition, v.instance);
  return m;
}
