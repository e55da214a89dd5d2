import type { IHeaders, KafkaMessage } from 'kafkajs';
import type { ChangeRecord, CloudEvent, StreamRecord } from '../../src/sdk/index.js';

/**
 * A record of an output topic as the sinks take it: an event (CloudEvents binary mode rebuilt from
 * its `ce_*` headers, or structured mode as it is) or a change record; null for a tombstone.
 */
export function recordValue(message: KafkaMessage): CloudEvent | ChangeRecord | null {
  if (message.value === null) return null;
  const headers = message.headers ?? {};
  const text = message.value.toString();
  if (headers.ce_specversion !== undefined) return binaryEvent(headers, text);
  return JSON.parse(text) as CloudEvent | ChangeRecord;
}

/** Partitions per topic that composite offsets leave room for. */
export const MAX_PARTITIONS = 4096;

/**
 * A stream offset for a record of a Kafka topic partition: increasing within the partition, unique
 * across the topic's partitions, never 0, exact in a double up to offset 2^41.
 */
export function compositeOffset(partition: number, offset: string | number): number {
  return (Number(offset) + 1) * MAX_PARTITIONS + partition;
}

/** The records of a fetched batch (tombstones left out), with composite offsets. */
export function streamRecords(messages: KafkaMessage[], stream: string, partition: number): StreamRecord[] {
  const records: StreamRecord[] = [];
  for (const m of messages) {
    const value = recordValue(m);
    if (value !== null) records.push({ stream, offset: compositeOffset(partition, m.offset), key: m.key?.toString() ?? null, value });
  }
  return records;
}

/** Rebuilds a CloudEvent from the Kafka binding's binary mode, attributes in the order reflex writes them. */
function binaryEvent(headers: IHeaders, data: string): CloudEvent {
  const attr = (name: string) => headers[`ce_${name}`]?.toString();
  const event: Record<string, unknown> = {};
  for (const name of ['specversion', 'id', 'source', 'type', 'subject', 'time']) {
    const v = attr(name);
    if (v !== undefined) event[name] = v;
  }
  event.datacontenttype = headers['content-type']?.toString() ?? 'application/json';
  event.data = JSON.parse(data) as unknown;
  for (const name in headers) {
    if (!name.startsWith('ce_')) continue;
    const key = name.slice(3);
    if (!(key in event)) event[key] = headers[name]!.toString();
  }
  return event as unknown as CloudEvent;
}
