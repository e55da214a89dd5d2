import type { IHeaders, Message } from 'kafkajs';
import type { ChangeRecord, CloudEvent, StreamRecord } from '../../../src/sdk/index.js';

/**
 * Records as Kafka messages. Events use the CloudEvents Kafka binding
 * (https://github.com/cloudevents/spec/blob/v1.0.2/cloudevents/bindings/kafka-protocol-binding.md):
 * binary mode puts the attributes in `ce_*` headers and `data` in the value; structured mode puts
 * the whole event in the value as application/cloudevents+json. The key is the event's subject.
 * Change records are the value as they are (Debezium-shaped), keyed by the resource key, and a
 * delete is followed by a tombstone (null value) so compaction forgets the key.
 */
export function toMessages(record: StreamRecord, mode: 'binary' | 'structured'): Message[] {
  const value = record.value as Partial<CloudEvent> & Partial<ChangeRecord>;
  if (typeof value.specversion === 'string') {
    const event = value as CloudEvent;
    if (mode === 'structured') {
      return [{ key: event.subject ?? null, value: JSON.stringify(event), headers: { 'content-type': 'application/cloudevents+json; charset=UTF-8' } }];
    }
    const headers: IHeaders = { 'content-type': event.datacontenttype };
    for (const [name, attr] of Object.entries(event)) {
      if (name === 'data' || name === 'datacontenttype' || attr === undefined || attr === null) continue;
      headers[`ce_${name}`] = String(attr);
    }
    return [{ key: event.subject ?? null, value: JSON.stringify(event.data ?? null), headers }];
  }
  const change = value as ChangeRecord;
  const messages: Message[] = [{ key: record.key, value: JSON.stringify(change), headers: { 'content-type': 'application/json' } }];
  if (change.op === 'd') messages.push({ key: record.key, value: null });
  return messages;
}
