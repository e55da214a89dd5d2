import type Database from 'better-sqlite3';
import type { StreamRecord } from '../model/records.js';
import type { CdcIntent, ResourceState } from '../cdc/types.js';
import { SqliteCdcState } from './cdc-state.js';
import { StoreDatabase } from './database.js';
import { SqliteEventLog } from './event-log.js';
import { SqliteIngestLedger } from './ingest-ledger.js';
import { STORE_MIGRATIONS } from './migrations/index.js';
import { guardStoreErrors } from './sqlite-open.js';
import { SqliteSubscriptions } from './subscriptions.js';
import { StreamProducers } from './stream-producers.js';
import { ConsumerAcks } from './consumer-acks.js';
import type {
  BatchResult, BatchWrite, ConsumerOffset, DeadLetter, EventStore, ResourceSummary, StreamSummary, UnmatchedCount,
} from './types.js';
import { intentOf } from './types.js';

export interface SqliteStoreOptions {
  path: string;
  /** Records older than this many ms are pruned (by append time). 0 keeps everything. */
  retentionMs: number;
  /** How long a request key is remembered to drop re-sent log entries. */
  dedupeWindowMs: number;
  /** `full` fsyncs every commit (survives power loss); `normal` survives process crashes only. */
  synchronous: 'full' | 'normal';
  now?: () => number;
}

/**
 * The embedded store: one SQLite file in WAL mode, one writer (this process), holding the event
 * log, the ingest ledger, CDC state and subscriptions; this class composes them and writes a batch
 * across them in one transaction.
 */
export class SqliteStore implements EventStore {
  readonly database: StoreDatabase;
  /** Shared with stores of other parts (webhooks) that keep their tables in the same file. */
  readonly db: Database.Database;
  readonly log: SqliteEventLog;
  readonly ledger: SqliteIngestLedger;
  readonly cdc: SqliteCdcState;
  readonly subscriptions: SqliteSubscriptions;
  readonly producers: StreamProducers;
  readonly acks: ConsumerAcks;
  private readonly now: () => number;

  constructor(private readonly options: SqliteStoreOptions) {
    this.now = options.now ?? Date.now;
    // Every error from here on names the database file (and the OS's reason where there is one).
    guardStoreErrors(this, options.path);
    this.database = new StoreDatabase({ path: options.path, synchronous: options.synchronous, migrations: STORE_MIGRATIONS });
    this.db = this.database.db;
    this.log = new SqliteEventLog(this.database, this.now);
    this.ledger = new SqliteIngestLedger(this.database);
    this.cdc = new SqliteCdcState(this.database);
    this.subscriptions = new SqliteSubscriptions(this.database);
    this.producers = new StreamProducers(this.database);
    this.acks = new ConsumerAcks(this.database, this.log);
  }

  transaction<R>(fn: () => R): R {
    return this.database.transaction(fn);
  }

  deferSync<R>(fn: () => R): R {
    return this.database.deferSync(fn);
  }

  durable(): Promise<void> {
    return this.database.durable();
  }

  commit(batch: BatchWrite): BatchResult {
    return this.database.transaction(() => this.write(batch));
  }

  private write(batch: BatchWrite): BatchResult {
    const now = this.now();
    const result: BatchResult = { accepted: 0, duplicates: 0, records: 0, deadLetters: 0, unmatched: 0, appended: new Map() };
    if (batch.collect) result.committed = [];
    const intents: CdcIntent[] | undefined = batch.returnCdc ? (result.intents = []) : undefined;
    for (const entry of batch.entries) {
      if (entry.retryOf !== undefined) {
        this.ledger.removeDeadLetter(entry.retryOf);
      } else if (!this.ledger.claim(entry.requestKey, now)) {
        result.duplicates++;
        continue;
      }
      result.accepted++;
      for (const rec of entry.records) {
        const offset = this.log.append(rec.stream, rec.key, rec.value, rec.json);
        result.appended.set(rec.stream, offset);
        result.committed?.push({ stream: rec.stream, offset, key: rec.key, value: rec.value });
        result.records++;
      }
      if (entry.cdc) {
        if (intents) intents.push(intentOf(entry.cdc));
        else this.cdc.queue(entry.cdc, now);
      }
      if (entry.deadLetter) {
        this.ledger.addDeadLetter(entry.deadLetter, now);
        result.deadLetters++;
      }
      if (entry.unmatched) {
        this.ledger.countUnmatched(entry.unmatched, now);
        result.unmatched++;
      }
    }
    if (batch.checkpoint) this.ledger.setCheckpoint(batch.checkpoint.source, batch.checkpoint.value, now);
    return result;
  }

  ensureStreams(streams: Array<{ name: string; kind: 'events' | 'changelog' }>): void {
    this.log.ensureStreams(streams);
  }

  seen(requestKeys: string[]): Set<string> {
    return this.ledger.seen(requestKeys);
  }

  read(stream: string, afterOffset: number, limit: number): StreamRecord[] {
    return this.log.read(stream, afterOffset, limit);
  }

  streams(): StreamSummary[] {
    return this.log.streams();
  }

  streamNames(): string[] {
    return this.log.streamNames();
  }

  hasStream(stream: string): boolean {
    return this.log.hasStream(stream);
  }

  firstOffsetSince(stream: string, timeMs: number): number | null {
    return this.log.firstOffsetSince(stream, timeMs);
  }

  lastOffset(stream: string): number {
    return this.log.lastOffset(stream);
  }

  getConsumerOffset(stream: string, consumer: string): number | null {
    return this.log.getConsumerOffset(stream, consumer);
  }

  setConsumerOffset(stream: string, consumer: string, offset: number): void {
    this.log.setConsumerOffset(stream, consumer, offset);
  }

  consumerOffsets(stream: string): ConsumerOffset[] {
    return this.log.consumerOffsets(stream);
  }

  deadLetters(afterId: number, limit: number): DeadLetter[] {
    return this.ledger.deadLetters(afterId, limit);
  }

  deadLetter(id: number): DeadLetter | null {
    return this.ledger.deadLetter(id);
  }

  unmatched(): UnmatchedCount[] {
    return this.ledger.unmatched();
  }

  getCheckpoint(source: string): string | null {
    return this.ledger.getCheckpoint(source);
  }

  setCheckpoint(source: string, value: string): void {
    this.ledger.setCheckpoint(source, value, this.now());
  }

  pendingCdc(): number {
    return this.cdc.pendingCount();
  }

  getResource(resource: string, key: string): ResourceState | null {
    return this.cdc.get(resource, key);
  }

  listResource(resource: string, afterKey: string, limit: number): Array<{ key: string } & ResourceState> {
    return this.cdc.list(resource, afterKey, limit);
  }

  resources(names: string[]): ResourceSummary[] {
    return this.cdc.resources(names);
  }

  prune(now: number, delivered?: (stream: string) => number): { records: number; dedupeKeys: number } {
    // The change records journal the states held in memory: write those first.
    this.cdc.flush();
    const records = this.options.retentionMs > 0 ? this.log.pruneBefore(now - this.options.retentionMs, delivered) : 0;
    if (records > 0) this.cdc.lowerFlushedMark();
    const dedupeKeys = this.ledger.pruneDedupe(now - this.options.dedupeWindowMs);
    return { records, dedupeKeys };
  }

  onAppend(listener: (appended: Map<string, number>) => void): () => void {
    return this.log.onAppend(listener);
  }

  close(): void {
    if (this.db.open) this.cdc.flush();
    this.log.close();
    this.database.close();
  }
}
