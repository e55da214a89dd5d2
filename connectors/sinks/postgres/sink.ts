import pg from 'pg';
import { defineSink, type Sink, type SinkContext, type StreamRecord } from '../../../src/sdk/index.js';
import { writeBatch } from './batch-writer.js';
import { POSTGRES_CONFIG, type PostgresSettings } from './config.js';
import { prepareTables, TableShapeError } from './ddl.js';
import { classify, connectionLost, permanent, StatementError } from './errors.js';
import { Layout } from './layout.js';
import { readPositions } from './offsets.js';
import { TopicSinkRunner } from '../../kafka/topic-runner.js';
import { ColumnConfigError } from './typed-columns.js';

/**
 * Writes events to `<schema>.events`, change records to `<schema>.changes`, and keeps one live
 * table per CDC resource, with the sink's offsets in `<schema>.reflex_offsets` written in the same
 * transaction as the rows: exactly once, whatever crashes (see batch-writer.ts).
 */
export const postgresSink = defineSink({
  type: 'postgres',
  summary: 'writes events, change records and a live table per CDC resource to PostgreSQL, exactly once (offsets kept in the database)',
  config: POSTGRES_CONFIG,
  name: { text: 'postgres', of: () => 'postgres' },
  streams: 'streams to write',
  batchSize: (settings) => settings.batchSize,
  create(settings, ctx) {
    // Naming problems (a clash, a bad column expression) are refused here, with reflex.yaml's line.
    const layout = new Layout(settings, ctx.streams ?? []);
    return new PostgresSink(settings, ctx, layout);
  },
  // Cluster mode: the output topics' partitions as positions; a record's offset is its composite
  // one (connectors/kafka/records.ts), so rows stay unique per stream and each lands once.
  cluster(settings, ctx) {
    const sink = new PostgresSink(settings, { name: ctx.name, logger: ctx.logger, service: undefined, streams: ctx.streams }, new Layout(settings, ctx.streams));
    return new TopicSinkRunner(ctx, (records, position) => sink.deliver(records, position), { open: () => sink.open(), close: () => sink.close() });
  },
});

class PostgresSink implements Sink {
  private client: pg.Client | null = null;
  private closed = false;
  /** Tables created and checked (by name); DDL outlives a connection, so this survives reconnects. */
  private readonly prepared = new Set<string>();

  constructor(
    private readonly settings: PostgresSettings,
    private readonly ctx: SinkContext,
    private readonly layout: Layout,
  ) {}

  async open(): Promise<void> {
    let client: pg.Client;
    try {
      client = await this.connection();
    } catch (err) {
      // Not reachable yet: start anyway and prepare the tables on the first delivery.
      this.ctx.logger.warn('PostgreSQL is not reachable; the tables will be prepared on the first delivery', { error: (err as Error).message });
      return;
    }
    try {
      await this.prepare(client);
    } catch (err) {
      if (err instanceof TableShapeError || classify(err) !== 'transient') throw err;
      this.forget(err);
      this.ctx.logger.warn('could not prepare the tables yet; will on the first delivery', { error: (err as Error).message });
    }
  }

  /** `position`: the `reflex_offsets` row of the batch (its stream; a topic partition in cluster mode). */
  async deliver(records: StreamRecord[], position?: string): Promise<void> {
    if (records.length === 0) return;
    if (this.closed) throw new Error('the postgres sink is closed');
    for (let attempt = 0; ; attempt++) {
      try {
        const resource = this.layout.resourceOf(records[0]!.stream);
        if (resource !== null) this.layout.resource(resource);
        const client = await this.connection();
        await this.prepare(client);
        await writeBatch(client, this.layout, this.ctx.name, records, this.settings.method === 'insert' ? 'insert' : 'copy', position);
        return;
      } catch (err) {
        if (err instanceof ColumnConfigError || err instanceof TableShapeError) throw Object.assign(err, { permanent: true as const });
        const cause = err instanceof StatementError ? err.error : err;
        const table = err instanceof StatementError ? err.table : this.layout.schema;
        const kind = classify(cause);
        if (kind === 'missing-table' && attempt === 0) {
          // Dropped under us: create it again and retry once.
          this.ctx.logger.warn('a table of the sink is gone; creating it again', { table, error: (cause as Error).message });
          this.prepared.clear();
          continue;
        }
        if (kind === 'transient') {
          this.forget(cause);
          throw cause;
        }
        throw permanent(cause, table);
      }
    }
  }

  async positions(streams: string[]): Promise<Map<string, number>> {
    const client = await this.connection();
    try {
      await this.prepare(client);
      return await readPositions(client, this.layout, this.ctx.name, streams);
    } catch (err) {
      this.forget(err);
      throw err;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const client = this.client;
    this.client = null;
    await client?.end().catch(() => undefined);
  }

  /** One connection; the dispatcher is serial. A broken one is dropped and the next call connects again. */
  private async connection(): Promise<pg.Client> {
    if (this.client) return this.client;
    const client = new pg.Client({
      connectionString: this.settings.url,
      connectionTimeoutMillis: this.settings.connectTimeoutMs,
      application_name: this.settings.applicationName,
      ...(this.settings.statementTimeoutMs > 0 ? { statement_timeout: this.settings.statementTimeoutMs } : {}),
    });
    // Without a listener an error on an idle connection (the server restarting) would end the process.
    client.on('error', (err) => {
      if (this.client === client) this.client = null;
      this.ctx.logger.warn('connection to PostgreSQL lost', { error: err.message });
      client.end().catch(() => undefined);
    });
    try {
      await client.connect();
    } catch (err) {
      await client.end().catch(() => undefined);
      throw err;
    }
    if (this.closed) {
      await client.end().catch(() => undefined);
      throw new Error('the postgres sink is closed');
    }
    this.client = client;
    return client;
  }

  /** Drops the connection when `err` left it unusable. */
  private forget(err: unknown): void {
    if (!connectionLost(err) || !this.client) return;
    const client = this.client;
    this.client = null;
    client.end().catch(() => undefined);
  }

  private async prepare(client: pg.Client): Promise<void> {
    const missing = this.layout.tables().filter((t) => !this.prepared.has(t.name));
    if (missing.length === 0) return;
    await prepareTables(client, this.layout, missing);
    for (const t of missing) this.prepared.add(t.name);
    this.ctx.logger.info('tables ready', { schema: this.layout.schema, tables: missing.map((t) => t.name) });
  }
}
