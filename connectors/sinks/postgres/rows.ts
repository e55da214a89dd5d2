import type { ChangeRecord, CloudEvent, StreamRecord } from '../../../src/sdk/index.js';
import { jsonbText, sqlText, sqlTextOrNull, textArrayLiteral } from './sql-values.js';

/** The CloudEvents attributes `events` has a column for; `reflexstream` is the `stream` column. */
const EVENT_COLUMNS = new Set(['specversion', 'id', 'type', 'source', 'subject', 'time', 'datacontenttype', 'data', 'reflexoperation', 'reflexrequestid']);

/** Rows of `events` column by column (one array per column, for unnest), the stream aside. */
export interface EventColumns {
  offset: number[]; id: Array<string | null>; specversion: Array<string | null>; type: Array<string | null>; source: Array<string | null>;
  subject: Array<string | null>; time: Array<string | null>; datacontenttype: Array<string | null>; data: Array<string | null>;
  reflexoperation: Array<string | null>; reflexrequestid: Array<string | null>; extensions: Array<string | null>;
}

export function eventColumns(records: readonly StreamRecord[]): EventColumns {
  const c: EventColumns = { offset: [], id: [], specversion: [], type: [], source: [], subject: [], time: [], datacontenttype: [], data: [], reflexoperation: [], reflexrequestid: [], extensions: [] };
  for (const r of records) {
    const e = (r.value ?? {}) as Partial<CloudEvent> & Record<string, unknown>;
    c.offset.push(r.offset);
    c.id.push(sqlTextOrNull(e.id));
    c.specversion.push(sqlTextOrNull(e.specversion));
    c.type.push(sqlTextOrNull(e.type));
    c.source.push(sqlTextOrNull(e.source));
    c.subject.push(sqlTextOrNull(e.subject));
    c.time.push(sqlTextOrNull(e.time));
    c.datacontenttype.push(sqlTextOrNull(e.datacontenttype));
    c.data.push(jsonbText(e.data));
    c.reflexoperation.push(sqlTextOrNull(e.reflexoperation));
    c.reflexrequestid.push(sqlTextOrNull(e.reflexrequestid));
    c.extensions.push(extensionsOf(e, r.stream));
  }
  return c;
}

/** Attributes without a column of their own, as a jsonb object; null when there are none. */
function extensionsOf(e: Record<string, unknown>, stream: string): string | null {
  let ext: Record<string, unknown> | null = null;
  for (const [name, value] of Object.entries(e)) {
    if (EVENT_COLUMNS.has(name) || value === undefined || (name === 'reflexstream' && value === stream)) continue;
    (ext ??= {})[name] = value;
  }
  return ext ? jsonbText(ext) : null;
}

/** Rows of `changes` column by column, the stream aside; `changed` as text[] literals. */
export interface ChangeColumns {
  offset: number[]; key: Array<string | null>; op: Array<string | null>; before: Array<string | null>; after: Array<string | null>;
  changed: Array<string | null>; tsMs: Array<number | null>; source: Array<string | null>;
}

export function changeColumns(records: readonly StreamRecord[]): ChangeColumns {
  const c: ChangeColumns = { offset: [], key: [], op: [], before: [], after: [], changed: [], tsMs: [], source: [] };
  for (const r of records) {
    const ch = (r.value ?? {}) as Partial<ChangeRecord>;
    c.offset.push(r.offset);
    c.key.push(sqlTextOrNull(r.key ?? ch.key));
    c.op.push(sqlTextOrNull(ch.op));
    c.before.push(jsonbText(ch.before));
    c.after.push(jsonbText(ch.after));
    c.changed.push(Array.isArray(ch.changed) ? textArrayLiteral(ch.changed.map(String)) : null);
    c.tsMs.push(typeof ch.ts_ms === 'number' && Number.isFinite(ch.ts_ms) ? Math.trunc(ch.ts_ms) : null);
    c.source.push(jsonbText(ch.source));
  }
  return c;
}

/** The last change per key of a batch (in offset order), which is all a resource table needs of it. */
export function lastChangePerKey(records: readonly StreamRecord[]): Array<{ key: string; offset: number; change: Partial<ChangeRecord> }> {
  const last = new Map<string, { key: string; offset: number; change: Partial<ChangeRecord> }>();
  for (const r of records) {
    const change = (r.value ?? {}) as Partial<ChangeRecord>;
    const key = r.key ?? change.key;
    if (typeof key !== 'string') continue;
    const clean = sqlText(key);
    // Delete then set again, so the Map's order is that of each key's last change.
    last.delete(clean);
    last.set(clean, { key: clean, offset: r.offset, change });
  }
  return [...last.values()];
}
