import type { ChangeRecord, CloudEvent, StreamRecord } from '../../../src/sdk/index.js';

const CHANGE_TYPES: Record<ChangeRecord['op'], string> = { c: 'created', u: 'updated', d: 'deleted', r: 'read' };

/**
 * What a webhook receives for a record: events as they are; a change record (Debezium-shaped)
 * inside a CloudEvent of type `<stream>.<created|updated|deleted>`, so that every webhook body has
 * the same envelope and an id for the `webhook-id` header.
 */
export function webhookEvent(record: StreamRecord): CloudEvent {
  const value = record.value as Partial<CloudEvent> & Partial<ChangeRecord>;
  if (typeof value.specversion === 'string') return value as CloudEvent;
  const change = value as ChangeRecord;
  return {
    specversion: '1.0',
    id: `${record.stream}-${record.offset}`,
    source: `reflex/${record.stream}`,
    type: `${record.stream}.${CHANGE_TYPES[change.op] ?? change.op}`,
    subject: change.key,
    time: new Date(change.ts_ms).toISOString(),
    datacontenttype: 'application/json',
    data: change,
    reflexstream: record.stream,
    reflexoperation: change.source?.operationId ?? '',
    reflexrequestid: change.source?.requestId ?? '',
  };
}
