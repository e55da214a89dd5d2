/**
 * (m) When a run's work is done. Single node: the kafka sink's backlog is 0 and no CDC change is held
 * back. Cluster: the group's committed offsets reached the end of every exchanges partition; the
 * owners commit them in the transaction that writes the outputs, so every record is on the output
 * topics then (readable read_committed). Also: waiting until a cluster's partitions are shared out.
 */
import type { Admin } from 'kafkajs';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';

const POLL_MS = 50;

/** Resolves when `check` gives null; rejects with its last reason after `timeoutMs`. */
async function until(what: string, check: () => Promise<string | null>, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const reason = await check();
    if (reason === null) return;
    if (performance.now() > deadline) throw new Error(`${what} after ${timeoutMs / 1000} s: ${reason}`);
    await sleep(POLL_MS);
  }
}

async function getJson<T>(url: string): Promise<T> {
  const res = await request(url);
  if (res.statusCode !== 200) throw new Error(`GET ${url} answered ${res.statusCode}: ${await res.body.text()}`);
  return (await res.body.json()) as T;
}

/** Single node: every stored record delivered by the kafka sink, no CDC change waiting. */
export function singleNodeDone(url: string, timeoutMs = 180_000): Promise<void> {
  return until('the single node has not delivered everything', async () => {
    const sinks = await getJson<Array<{ backlog: number }>>(`${url}/sinks`);
    const backlog = sinks.reduce((n, s) => n + s.backlog, 0);
    if (backlog > 0) return `sink backlog ${backlog}`;
    const resources = await getJson<Array<{ pending: number }>>(`${url}/resources`);
    const pending = resources.reduce((n, r) => n + r.pending, 0);
    return pending > 0 ? `${pending} CDC changes pending` : null;
  }, timeoutMs);
}

/** Cluster: the group's committed offset at the end of every partition of the exchanges topic. */
export function clusterDone(admin: Admin, exchangesTopic: string, group: string, timeoutMs = 180_000): Promise<void> {
  return until('the cluster has not processed everything', async () => {
    const [ends, committed] = await Promise.all([admin.fetchTopicOffsets(exchangesTopic), admin.fetchOffsets({ groupId: group, topics: [exchangesTopic] })]);
    const at = new Map((committed[0]?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
    const behind = ends.filter((e) => Number(e.high) > Math.max(0, at.get(e.partition) ?? 0));
    return behind.length === 0 ? null : `partitions ${behind.map((e) => `${e.partition} at ${at.get(e.partition)} of ${e.high}`).join(', ')}`;
  }, timeoutMs);
}

/** What the bench reads of `GET /cluster` (src/cluster/types.ts ClusterStatus). */
export interface ClusterView {
  instance: string;
  members: unknown[];
  owned: Array<{ partition: number; status: string; restoredRecords: number; restoreMs: number | null; keys?: number }>;
}

export function clusterView(url: string): Promise<ClusterView> {
  return getJson<ClusterView>(`${url}/cluster`);
}

/** Every partition owned by exactly one of the instances at `urls`, running, and each sees them all as members. */
export function clusterShared(urls: string[], partitions: number, timeoutMs = 90_000): Promise<void> {
  return until('the cluster did not share its partitions', async () => {
    let views: ClusterView[];
    try {
      views = await Promise.all(urls.map((u) => clusterView(u)));
    } catch (err) {
      const cause = (err as Error & { cause?: Error }).cause;
      return `${(err as Error).message}${cause ? ` (${cause.message})` : ''}`;
    }
    const owners = new Map<number, number>();
    for (const v of views) {
      if (v.members.length !== urls.length) return `${v.instance} sees ${v.members.length} members of ${urls.length}`;
      for (const p of v.owned) {
        if (p.status !== 'running') return `${v.instance} is ${p.status} partition ${p.partition}`;
        owners.set(p.partition, (owners.get(p.partition) ?? 0) + 1);
      }
    }
    for (let p = 0; p < partitions; p++) if (owners.get(p) !== 1) return `partition ${p} has ${owners.get(p) ?? 0} owners`;
    return null;
  }, timeoutMs);
}
