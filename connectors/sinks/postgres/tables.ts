import type { TypedColumn } from './typed-columns.js';

/** A column as the sink creates it and the shape check expects it. */
export interface ColumnDef {
  name: string;
  type: string;
  notNull?: boolean;
  default?: string;
}

/** A table the sink writes: its columns and the key its ON CONFLICT clauses name. */
export interface TableDef {
  /** What the table is for, in messages: `events`, `changes`, `offsets`, `resource orders`. */
  role: string;
  name: string;
  columns: ColumnDef[];
  primaryKey: string[];
  unique?: string[];
}

/**
 * `<schema>.events`: one row per CloudEvent. The attributes reflex always sets are columns;
 * `reflexstream` is the `stream` column; any other attribute goes to `extensions`.
 */
export function eventsTable(name: string): TableDef {
  return {
    role: 'events', name, primaryKey: ['stream', 'offset'], unique: ['id'],
    columns: [
      { name: 'stream', type: 'text', notNull: true }, { name: 'offset', type: 'bigint', notNull: true },
      { name: 'id', type: 'text', notNull: true }, { name: 'specversion', type: 'text' }, { name: 'type', type: 'text' },
      { name: 'source', type: 'text' }, { name: 'subject', type: 'text' }, { name: 'time', type: 'timestamptz' },
      { name: 'datacontenttype', type: 'text' }, { name: 'data', type: 'jsonb' }, { name: 'reflexoperation', type: 'text' },
      { name: 'reflexrequestid', type: 'text' }, { name: 'extensions', type: 'jsonb' },
    ],
  };
}

/** `<schema>.changes`: one row per change record of every changelog stream. */
export function changesTable(name: string): TableDef {
  return {
    role: 'changes', name, primaryKey: ['stream', 'offset'],
    columns: [
      { name: 'stream', type: 'text', notNull: true }, { name: 'offset', type: 'bigint', notNull: true },
      { name: 'key', type: 'text' }, { name: 'op', type: 'text' }, { name: 'before', type: 'jsonb' }, { name: 'after', type: 'jsonb' },
      { name: 'changed', type: 'text[]' }, { name: 'ts_ms', type: 'bigint' }, { name: 'source', type: 'jsonb' },
    ],
  };
}

/** `<schema>.reflex_offsets`: the last offset each sink delivered per stream, written with the rows. */
export function offsetsTable(name: string): TableDef {
  return {
    role: 'offsets', name, primaryKey: ['sink', 'stream'],
    columns: [
      { name: 'sink', type: 'text', notNull: true }, { name: 'stream', type: 'text', notNull: true },
      { name: 'offset', type: 'bigint', notNull: true }, { name: 'updated_at', type: 'timestamptz', notNull: true, default: 'now()' },
    ],
  };
}

/**
 * `<schema>.<resource>`: the live state per key. `version` is the offset of the change record that
 * wrote the row in its changelog stream (so `changes` has it: stream `<resource>.changelog`, that offset);
 * `updated_at` is that record's `ts_ms`.
 */
export function resourceTable(resource: string, name: string, typed: readonly TypedColumn[]): TableDef {
  return {
    role: `resource ${resource}`, name, primaryKey: ['key'],
    columns: [
      { name: 'key', type: 'text', notNull: true }, { name: 'state', type: 'jsonb' },
      { name: 'version', type: 'bigint', notNull: true }, { name: 'updated_at', type: 'timestamptz' },
      ...typed.map((c) => ({ name: c.name, type: c.type })),
    ],
  };
}
