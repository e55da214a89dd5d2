import type { KafkaMessage } from 'kafkajs';
import type { ClusterRecord, ClusterTail, Logger } from '../../../src/sdk/index.js';
import { recordValue } from '../../kafka/records.js';
import type { PartitionReader } from './restore.js';

/** A partition of a topic as the admin lists it read_committed: `high` is the stable end. */
export interface PartitionRange {
  partition: number;
  low: number;
  high: number;
}

/** How long a tail that reached the stable end of every partition waits before it looks again. */
export const TAIL_POLL_MS = 250;
/** Records of one partition per read: reads of a partition queue, so a tail takes turns with the others. */
const TAKE = 500;
/** How long a tail waits after the brokers did not answer before it asks again. */
const RETRY_MS = 1_000;

/** A committed record of a stream's topic as the consumer API shows it. */
export function clusterRecord(partition: number, m: KafkaMessage): ClusterRecord {
  let value: unknown;
  try {
    value = recordValue(m);
  } catch {
    // Not a record reflex wrote (something else produced to the topic): its text, rather than an
    // error thrown into the reader's consumer.
    value = m.value?.toString() ?? null;
  }
  return { partition, offset: Number(m.offset), key: m.key?.toString() ?? null, value };
}

/**
 * A live tail of a topic over all its partitions, read_committed, with the instance's
 * PartitionReader rather than a consumer of its own: a consumer per tail would cost every client a
 * group join (seconds with kafkajs) and a connection to each broker, for as long as it listens.
 * The reader does not starve for it: a tail reads only when its client asked for more (nothing
 * while its socket is full), each read is bounded (the stable end when it began, at most TAKE
 * records), and restores read the state topic, whose partitions queue apart from the output
 * topics' ones a tail reads.
 */
export class StreamTail implements ClusterTail {
  readonly start = new Map<number, number>();
  /** Per partition, the next offset to read. */
  private readonly positions = new Map<number, number>();
  private closed = false;
  private reading = false;
  private wake: (() => void) | null = null;

  constructor(
    readonly topic: string,
    ranges: PartitionRange[],
    after: ReadonlyMap<number, number>,
    private readonly io: { reader: PartitionReader; offsets: () => Promise<PartitionRange[]>; logger: Logger; ended: () => void },
  ) {
    for (const r of ranges) {
      const given = after.get(r.partition);
      // A fresh tail starts at the stable end, like `tail -f`; one resumed goes on after its offset
      // (from the first record still there when retention removed the next ones).
      const next = given === undefined ? r.high : Math.max(r.low, given + 1);
      this.positions.set(r.partition, next);
      this.start.set(r.partition, next - 1);
    }
  }

  async next(): Promise<ClusterRecord[]> {
    if (this.reading) throw new Error('a tail reads one batch at a time');
    this.reading = true;
    try {
      while (!this.closed) {
        let ranges: PartitionRange[];
        try {
          ranges = await this.io.offsets();
        } catch (err) {
          this.io.logger.debug('tail: could not list the offsets of its topic; trying again', { topic: this.topic, error: (err as Error).message });
          await this.pause(RETRY_MS);
          continue;
        }
        // A partition added to the topic since the tail began: all of it is new.
        for (const r of ranges) if (!this.positions.has(r.partition)) this.positions.set(r.partition, r.low);
        const behind = ranges.filter((r) => this.positions.get(r.partition)! < r.high);
        // Reads end at the stable end listed; the reader cancels them only when it stops (after the tails closed).
        const records = (await Promise.all(behind.map((r) => this.readPartition(r))).catch((err: Error) => {
          if (this.closed) return [];
          throw err;
        })).flat();
        if (this.closed) break;
        if (records.length > 0) return records;
        await this.pause(TAIL_POLL_MS);
      }
      return [];
    } finally {
      this.reading = false;
      if (this.closed) this.io.ended();
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.wake?.();
    if (!this.reading) this.io.ended();
  }

  /** The records of one partition from the tail's position up to the stable end `high` listed, at most TAKE. */
  private async readPartition(r: PartitionRange): Promise<ClusterRecord[]> {
    const records: ClusterRecord[] = [];
    let full = false;
    const from = Math.max(r.low, this.positions.get(r.partition)!);
    await this.io.reader.read(this.topic, r.partition, from, r.high, (m) => {
      if (this.closed) return false;
      records.push(clusterRecord(r.partition, m));
      full = records.length >= TAKE;
      return !full;
    });
    // A read that ran to its end passed every offset below it, transaction markers and aborted
    // records included; one that stopped early goes on after its last record.
    if (!this.closed) this.positions.set(r.partition, full ? records.at(-1)!.offset + 1 : r.high);
    return records;
  }

  private pause(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => this.wake?.(), ms);
      this.wake = () => {
        clearTimeout(timer);
        this.wake = null;
        resolve();
      };
    });
  }
}
