import { sourceError, type SourceError, type SourceProgress } from '../../../src/sdk/index.js';

interface Partition {
  topic: string;
  partition: number;
  /** The next offset to read. */
  offset: number;
  /** The partition's high watermark when its last batch was fetched (kafkajs gives it with each batch). */
  highWatermark: number;
  /** Time of the last message read (the producer's or the broker's timestamp). */
  time: number;
}

/**
 * The Kafka source's status: per partition the next offset, the high watermark and the messages
 * between them, from what each fetched batch carries (no extra request to the brokers).
 */
export class PartitionProgress {
  private partitions = new Map<string, Partition>();
  private bytes = 0;
  private consuming = false;
  private lastError: SourceError | undefined;

  reset(): void {
    this.partitions.clear();
    this.consuming = false;
  }

  connected(): void {
    this.consuming = true;
  }

  failed(err: unknown): void {
    this.consuming = false;
    this.lastError = sourceError(err);
  }

  consumed(at: { topic: string; partition: number }, messages: Array<{ offset: string; timestamp: string; value: Buffer | null }>, highWatermark: string): void {
    const last = messages[messages.length - 1];
    if (!last) return;
    for (const m of messages) this.bytes += m.value?.length ?? 0;
    this.partitions.set(`${at.topic}:${at.partition}`, { ...at, offset: Number(last.offset) + 1, highWatermark: Number(highWatermark), time: Number(last.timestamp) });
  }

  status(now = Date.now()): SourceProgress {
    const parts = [...this.partitions.values()].sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
    const behind = parts.filter((p) => p.highWatermark > p.offset);
    const lag = behind.reduce((n, p) => n + (p.highWatermark - p.offset), 0);
    const state = this.lastError && !this.consuming ? 'degraded' : lag > 0 ? 'catching-up' : parts.length > 0 ? 'idle' : 'running';
    const newest = Math.max(...parts.map((p) => p.time));
    const oldestBehind = Math.min(...behind.map((p) => p.time));
    return {
      state,
      position: parts.map((p) => ({ topic: p.topic, partition: p.partition, offset: p.offset, highWatermark: p.highWatermark, lag: Math.max(0, p.highWatermark - p.offset) })),
      ...(Number.isFinite(newest) ? { positionTime: new Date(newest).toISOString() } : {}),
      lagSeconds: Number.isFinite(oldestBehind) ? Math.max(0, Math.round((now - oldestBehind) / 1000)) : 0,
      read: { bytes: this.bytes },
      ...(parts.length > 0 ? { remaining: { entries: lag } } : {}),
      ...(this.lastError ? { lastError: this.lastError } : {}),
    };
  }
}
