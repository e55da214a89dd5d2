import type { IHeaders, Message } from 'kafkajs';
import type { ChangeRecord, CloudEvent, StoredRecord, StreamRecord } from '../../../src/sdk/index.js';

const CHANGE_HEADERS = { 'content-type': 'application/json' };
const STRUCTURED_HEADERS = { 'content-type': 'application/cloudevents+json; charset=UTF-8' };

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
  if (typeof value.specversion === 'string') return [eventMessage(value as CloudEvent, mode, null)];
  return changeMessages(record.key, JSON.stringify(value), (value as ChangeRecord).op === 'd');
}

/**
 * The same messages from the stored JSON text. A change record's text is the message value as it
 * is (never parsed: the store wrote it with `op` first); an event is parsed once for its attributes,
 * and structured mode sends its text unchanged.
 */
export function storedToMessages(record: StoredRecord, mode: 'binary' | 'structured'): Message[] {
  const { json } = record;
  if (json.startsWith('{"op":"')) return changeMessages(record.key, json, json.charCodeAt(7) === 100 /* d */);
  const value = JSON.parse(json) as Partial<CloudEvent> & Partial<ChangeRecord>;
  if (typeof value.specversion === 'string') return [eventMessage(value as CloudEvent, mode, json)];
  return changeMessages(record.key, json, (value as ChangeRecord).op === 'd');
}

function changeMessages(key: string | null, json: string, deleted: boolean): Message[] {
  const message: Message = { key, value: json, headers: CHANGE_HEADERS };
  return deleted ? [message, { key, value: null }] : [message];
}

function eventMessage(event: CloudEvent, mode: 'binary' | 'structured', json: string | null): Message {
  if (mode === 'structured') return { key: event.subject ?? null, value: json ?? JSON.stringify(event), headers: STRUCTURED_HEADERS };
  const headers: IHeaders = { 'content-type': event.datacontenttype };
  for (const name in event) {
    const attr = event[name as keyof CloudEvent];
    if (name === 'data' || name === 'datacontenttype' || attr === undefined || attr === null) continue;
    headers[`ce_${name}`] = String(attr);
  }
  return { key: event.subject ?? null, value: JSON.stringify(event.data ?? null), headers };
}
