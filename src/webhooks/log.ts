import type { StreamRecord } from '../model/records.js';

/** What webhook delivery reads of the event log (the embedded store provides it). */
export interface WebhookLog {
  read(stream: string, afterOffset: number, limit: number): StreamRecord[];
  lastOffset(stream: string): number;
  firstOffsetSince(stream: string, timeMs: number): number | null;
  streamNames(): string[];
  hasStream(stream: string): boolean;
  /** Calls `listener` after records are appended; returns the unsubscribe function. */
  onAppend(listener: (appended: Map<string, number>) => void): () => void;
}
