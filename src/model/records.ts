/**
 * Output formats, named as their specifications name them.
 * CloudEvents 1.0: https://github.com/cloudevents/spec/blob/v1.0.2/cloudevents/spec.md
 * Change records follow Debezium's envelope: https://debezium.io/documentation/reference/stable/connectors/postgresql.html#postgresql-change-events-value
 */

export interface CloudEvent {
  specversion: '1.0';
  id: string;
  source: string;
  type: string;
  subject?: string;
  time: string;
  datacontenttype: 'application/json';
  data: unknown;
  /** reflex extension attributes (CloudEvents extension names: lower-case alphanumerics). */
  reflexstream: string;
  reflexoperation: string;
  reflexrequestid: string;
}

export type ChangeOp = 'c' | 'u' | 'd' | 'r';

export interface ChangeRecord {
  op: ChangeOp;
  key: string;
  before: unknown;
  after: unknown;
  changed: string[];
  ts_ms: number;
  source: { gateway: string; operationId: string; requestId: string; method: string; path: string };
}

/** One entry of a stream as the store keeps it and the consumer API returns it. */
export interface StreamRecord<V = unknown> {
  stream: string;
  offset: number;
  key: string | null;
  value: V;
}
