import pg from 'pg';
import { expect } from 'vitest';

/** A record as the consumer API returns it. */
export interface LogRecord {
  offset: number;
  key: string | null;
  value: any;
}

interface StreamSummary {
  name: string;
  kind: 'events' | 'changelog';
  lastOffset: number;
}

const json = async (url: string) => {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`GET ${url}: ${res.status} ${await res.text()}`);
  return res.json() as Promise<any>;
};

/** Every record of a stream, page by page, from reflex's consumer API. */
export async function consumerRecords(reflexUrl: string, stream: string): Promise<LogRecord[]> {
  const out: LogRecord[] = [];
  for (;;) {
    const after = out.length > 0 ? out[out.length - 1]!.offset : 0;
    const page = (await json(`${reflexUrl}/streams/${encodeURIComponent(stream)}/events?after=${after}&limit=1000`)) as LogRecord[];
    out.push(...page);
    if (page.length < 1000) return out;
  }
}

export const streamsOf = (reflexUrl: string) => json(`${reflexUrl}/streams`) as Promise<StreamSummary[]>;

/** Per stream, the last offset the sink committed in the database (its `reflex_offsets` table). */
export async function databaseOffsets(db: pg.Client, schema: string): Promise<Map<string, number>> {
  const rows = (await db.query(`SELECT stream, "offset" FROM ${pg.escapeIdentifier(schema)}.reflex_offsets`)).rows as Array<{ stream: string; offset: string }>;
  return new Map(rows.map((r) => [r.stream, Number(r.offset)]));
}

/** Waits until the database holds every record of every stream of the log. */
export async function databaseCaughtUp(reflexUrl: string, db: pg.Client, schema: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let behind: string[] = [];
  while (Date.now() < deadline) {
    const [streams, offsets] = await Promise.all([streamsOf(reflexUrl), databaseOffsets(db, schema).catch(() => new Map<string, number>())]);
    behind = streams.filter((s) => s.lastOffset > 0 && (offsets.get(s.name) ?? 0) < s.lastOffset).map((s) => `${s.name} ${offsets.get(s.name) ?? 0}/${s.lastOffset}`);
    if (behind.length === 0) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`the database did not catch up with the log: ${behind.join(', ')}`);
}

/**
 * The database equals the log: each stream's events or change records one row per record, same
 * offsets and contents, and each resource table the state that replaying its changelog gives.
 */
export async function expectDatabaseEqualsLog(reflexUrl: string, db: pg.Client, schema: string): Promise<{ events: number; changes: number; resources: number }> {
  const s = pg.escapeIdentifier(schema);
  const counts = { events: 0, changes: 0, resources: 0 };
  for (const stream of await streamsOf(reflexUrl)) {
    const log = await consumerRecords(reflexUrl, stream.name);
    if (stream.kind === 'events') {
      const rows = (await db.query(`SELECT "offset", id, type, subject, data FROM ${s}.events WHERE stream = $1 ORDER BY "offset"`, [stream.name])).rows;
      expect(rows.map((r) => ({ offset: Number(r.offset), id: r.id, type: r.type, subject: r.subject, data: r.data })), `events of ${stream.name}`).toEqual(
        log.map((r) => ({ offset: r.offset, id: r.value.id, type: r.value.type, subject: r.value.subject ?? null, data: r.value.data })),
      );
      counts.events += rows.length;
      continue;
    }
    const rows = (await db.query(`SELECT "offset", key, op, before, after FROM ${s}.changes WHERE stream = $1 ORDER BY "offset"`, [stream.name])).rows;
    expect(rows.map((r) => ({ offset: Number(r.offset), key: r.key, op: r.op, before: r.before, after: r.after })), `change records of ${stream.name}`).toEqual(
      log.map((r) => ({ offset: r.offset, key: r.value.key, op: r.value.op, before: r.value.before, after: r.value.after })),
    );
    counts.changes += rows.length;
    const replayed = new Map<string, unknown>();
    for (const r of log) {
      if (r.value.op === 'd') replayed.delete(r.value.key);
      else replayed.set(r.value.key, r.value.after);
    }
    const resource = stream.name.slice(0, -'.changelog'.length);
    const live = (await db.query(`SELECT key, state FROM ${s}.${pg.escapeIdentifier(resource)} ORDER BY key`)).rows as Array<{ key: string; state: unknown }>;
    expect(new Map(live.map((r) => [r.key, r.state])), `live rows of ${resource}`).toEqual(replayed);
    counts.resources += live.length;
  }
  return counts;
}
