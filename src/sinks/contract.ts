/**
 * How a sink shows in reflex's AsyncAPI document (`reflex asyncapi`, GET /asyncapi.json): where
 * it sends each stream and in which shape. A connector declares it (SinkConnector.contract), so
 * the document is built without knowing any connector by name.
 */
export interface SinkContract {
  /** The AsyncAPI server the sink sends to (`host` without scheme, `protocol` as AsyncAPI names it). */
  server: { host: string; protocol: string; pathname?: string; description?: string };
  /**
   * `channel`: one channel per stream, at `address(stream)` (a Kafka topic);
   * `endpoint`: one channel for all the sink's streams at `address()` (a webhook URL's path).
   */
  layout: 'channel' | 'endpoint';
  address(stream?: string): string;
  /**
   * CloudEvents content mode of events: `binary` puts the attributes in headers (`headerPrefix`
   * + attribute name) and `data` in the payload; `structured` sends the whole event.
   * Change records are sent as they are, unless `changeRecords` is `event` (wrapped in a CloudEvent).
   */
  mode: 'binary' | 'structured';
  headerPrefix?: string;
  changeRecords?: 'record' | 'event';
  /** Which event types (CloudEvents `type`; a changelog's `<stream>.created` ...) it sends; default all. */
  takes?(type: string): boolean;
  /** Headers the sink adds to every message (signatures): JSON Schemas by header name. */
  headers?: Record<string, Record<string, unknown>>;
  /** AsyncAPI bindings objects, keyed by protocol. */
  channelBindings?(stream: string, changelog: boolean): Record<string, unknown>;
  messageBindings?: Record<string, unknown>;
  operationBindings?: Record<string, unknown>;
}
