import { CODES, escapePointerToken, type StreamInfo } from '../../../src/sdk/index.js';
import type { PostgresSettings } from './config.js';
import { identifierProblem, qualified } from './identifiers.js';
import { changesTable, eventsTable, offsetsTable, resourceTable, type TableDef } from './tables.js';
import { ColumnConfigError, compileColumns, type TypedColumn } from './typed-columns.js';

/** The sink's own tables, by the key that renames them in `tables:`. */
const OWN_TABLES = { events: 'events', changes: 'changes', offsets: 'reflex_offsets' } as const;
const CHANGELOG_SUFFIX = '.changelog';

/** A config or naming problem found before any connection: reported with reflex.yaml's line. */
export class LayoutError extends ColumnConfigError {}

/**
 * Where every stream's records go: the schema, the sink's own tables, and one table per CDC
 * resource (those the specs declare are known at start; one first met in deliver() is added then).
 */
export class Layout {
  readonly events: TableDef;
  readonly changes: TableDef;
  readonly offsets: TableDef;
  private readonly resources = new Map<string, { table: TableDef; typed: TypedColumn[] }>();
  private readonly streams: ReadonlyMap<string, StreamInfo>;

  constructor(private readonly settings: PostgresSettings, streams: readonly StreamInfo[]) {
    const schemaProblem = identifierProblem(settings.schema);
    if (schemaProblem) throw new LayoutError(`schema name '${settings.schema}' ${schemaProblem}`, '/schema');
    const own = (role: keyof typeof OWN_TABLES) => this.tableName(role, Object.hasOwn(settings.tables, role) ? settings.tables[role]! : OWN_TABLES[role]);
    this.events = eventsTable(own('events'));
    this.changes = changesTable(own('changes'));
    this.offsets = offsetsTable(own('offsets'));
    this.streams = new Map(streams.map((s) => [s.name, s]));
    const resources = new Set(streams.filter((s) => s.kind === 'changelog' && s.resource).map((s) => s.resource!));
    const unknown = (key: string, where: string) => {
      if (streams.length === 0 || resources.has(key)) return;
      throw new LayoutError(`'${key}' is not a CDC resource of the loaded specs (resources: ${[...resources].sort().join(', ') || 'none'}; the sink's own tables: ${Object.keys(OWN_TABLES).join(', ')})`, `${where}/${escapePointerToken(key)}`);
    };
    for (const key of Object.keys(settings.tables)) if (!Object.hasOwn(OWN_TABLES, key)) unknown(key, '/tables');
    for (const key of Object.keys(settings.columns)) unknown(key, '/columns');
    this.checkClashes([this.events, this.changes, this.offsets]);
    for (const resource of resources) this.resource(resource);
  }

  get schema(): string {
    return this.settings.schema;
  }

  /** `"schema"."table"` of a table definition. */
  qualified(table: TableDef): string {
    return qualified(this.settings.schema, table.name);
  }

  /** Every table known now: the own ones and those of the resources met so far. */
  tables(): TableDef[] {
    return [this.events, this.changes, this.offsets, ...[...this.resources.values()].map((r) => r.table)];
  }

  /** The resource of a changelog stream, or null for an event stream. */
  resourceOf(stream: string): string | null {
    const info = this.streams.get(stream);
    if (info) return info.kind === 'changelog' ? (info.resource ?? stream.slice(0, -CHANGELOG_SUFFIX.length)) : null;
    return stream.endsWith(CHANGELOG_SUFFIX) && stream.length > CHANGELOG_SUFFIX.length ? stream.slice(0, -CHANGELOG_SUFFIX.length) : null;
  }

  /**
   * The table of a resource, with its typed columns compiled (once). Throws a LayoutError when its
   * name clashes with another table of the sink.
   */
  resource(resource: string): { table: TableDef; typed: TypedColumn[] } {
    const known = this.resources.get(resource);
    if (known) return known;
    // `tables: {events: x}` renames the sink's events table, never a resource called events.
    const renamed = !Object.hasOwn(OWN_TABLES, resource) && Object.hasOwn(this.settings.tables, resource);
    const name = this.tableName(resource, renamed ? this.settings.tables[resource]! : resource);
    const stateSchema = this.streams.get(`${resource}${CHANGELOG_SUFFIX}`)?.stateSchema;
    const typed = Object.hasOwn(this.settings.columns, resource) ? compileColumns(resource, this.settings.columns[resource]!, stateSchema) : [];
    const entry = { table: resourceTable(resource, name, typed), typed };
    this.checkClashes([...this.tables(), entry.table]);
    this.resources.set(resource, entry);
    return entry;
  }

  private tableName(role: string, name: string): string {
    const problem = identifierProblem(name);
    if (problem) throw new LayoutError(`table name '${name}' (for ${role}) ${problem}; choose another with \`tables: {${role}: <name>}\``, `/tables/${role}`);
    return name;
  }

  private checkClashes(tables: TableDef[]): void {
    const byName = new Map<string, TableDef>();
    for (const t of tables) {
      const other = byName.get(t.name);
      if (other && other !== t) {
        const [own, resource] = other.role.startsWith('resource ') ? [t, other] : [other, t];
        const resourceName = resource.role.slice('resource '.length);
        const hint = own.role.startsWith('resource ')
          ? `give one of them another name with \`tables: {${resourceName}: <name>}\``
          : `rename the sink's ${own.role} table with \`tables: {${own.role}: <name>}\` (or the resource's with \`tables: {${resourceName}: <name>}\`)`;
        throw new LayoutError(`${resource.role} would be written to table ${qualified(this.settings.schema, t.name)}, which holds the ${own.role}; ${hint}`, '/tables', CODES.sinkTableClash);
      }
      byName.set(t.name, t);
    }
  }
}
