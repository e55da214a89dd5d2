/**
 * reflex's output as an AsyncAPI 3.0 document: a channel per stream (at the topic of each sink
 * that writes streams to channels of their own, e.g. Kafka; at the stream's name, read through
 * the consumer API, where none does), a message per event type with the CloudEvents attributes
 * as headers (binary mode) or the whole event as payload (structured mode), the change records of
 * CDC resources, and one channel per endpoint a sink POSTs to (webhooks) with its headers.
 * https://www.asyncapi.com/docs/reference/specification/v3.0.0
 */
import type { Obj } from '../spec/doc.js';
import type { StreamInfo } from '../spec/types.js';
import type { SinkContract } from '../sinks/contract.js';
import type { Contracts, EventContract, ResourceContract } from './contracts.js';

/** A configured sink that declares its contract, with the streams it delivers (`*`: all). */
export interface ContractSink {
  name: string;
  streams: string[];
  contract: SinkContract;
}

const STRING = { type: 'string' };
const CHANGE_TYPES = ['created', 'updated', 'deleted', 'read'];

export function asyncApiDocument(contracts: Contracts, streams: readonly StreamInfo[], sinks: readonly ContractSink[]): Obj {
  const doc = new Builder(contracts);
  const covered = new Set<string>();
  for (const sink of sinks) {
    const names = streams.filter((s) => sink.streams.includes('*') || sink.streams.includes(s.name));
    if (names.length === 0) continue;
    const server = doc.server(sink);
    if (sink.contract.layout === 'endpoint') {
      doc.channel(sink.name, sink.contract.address(), names, sink.contract, server, `the records of ${names.map((s) => s.name).join(', ')}, POSTed to sink ${sink.name}`);
      continue;
    }
    for (const stream of names) {
      const id = covered.has(stream.name) ? `${stream.name}_${sink.name}` : stream.name;
      covered.add(stream.name);
      doc.channel(id, sink.contract.address(stream.name), [stream], sink.contract, server, `stream ${stream.name}, written by sink ${sink.name}`);
    }
  }
  // Streams no sink writes to a channel of its own are read through the consumer API, as stored.
  for (const stream of streams) {
    if (covered.has(stream.name)) continue;
    doc.channel(stream.name, stream.name, [stream], CONSUMER_API, null, `stream ${stream.name}: GET /streams/${stream.name}/events`);
  }
  return doc.build();
}

/** The consumer API returns each record's value as stored: the whole event, the change record as it is. */
const CONSUMER_API: SinkContract = { server: { host: '', protocol: 'http' }, layout: 'channel', address: (s) => s!, mode: 'structured', changeRecords: 'record' };

class Builder {
  private readonly servers: Obj = {};
  private readonly channels: Obj = {};
  private readonly operations: Obj = {};
  private readonly messages: Obj = {};
  private readonly schemas: Obj = {};

  constructor(private readonly contracts: Contracts) {}

  server(sink: ContractSink): string {
    const id = safeId(sink.name);
    const { host, protocol, pathname, description } = sink.contract.server;
    this.servers[id] = { host, protocol, ...(pathname ? { pathname } : {}), ...(description ? { description } : {}) };
    return id;
  }

  channel(name: string, address: string, streams: readonly StreamInfo[], contract: SinkContract, server: string | null, description: string): void {
    // A webhook sink may be named like a stream: the later channel gets a number.
    let id = safeId(name);
    for (let n = 2; id in this.channels; n++) id = `${safeId(name)}_${n}`;
    const messages: Obj = {};
    for (const stream of streams) {
      if (stream.kind === 'changelog') {
        const resource = this.contracts.resources.find((r) => r.stream === stream.name);
        const unwanted = contract.changeRecords === 'event' && contract.takes && !CHANGE_TYPES.some((t) => contract.takes!(`${stream.name}.${t}`));
        if (resource && !unwanted) for (const [key, message] of this.changeMessages(resource, contract)) messages[key] = message;
      } else {
        for (const event of this.contracts.events.filter((e) => e.stream === stream.name && (contract.takes?.(e.type) ?? true))) {
          const [key, message] = this.eventMessage(event, contract);
          messages[key] = message;
        }
      }
    }
    const channel: Obj = { address, description, messages };
    if (server) channel.servers = [{ $ref: `#/servers/${server}` }];
    // One stream per channel: its bindings (a topic's partitions and cleanup policy) are the stream's.
    const only = streams.length === 1 ? streams[0]! : null;
    const bindings = only ? contract.channelBindings?.(only.name, only.kind === 'changelog') : undefined;
    if (bindings) channel.bindings = bindings;
    this.channels[id] = channel;
    const operation: Obj = {
      action: 'send',
      summary: contract.layout === 'endpoint' ? `reflex POSTs each record to ${address}` : `reflex writes the records of ${streams[0]?.name ?? address}`,
      channel: { $ref: `#/channels/${id}` },
      messages: Object.keys(messages).map((m) => ({ $ref: `#/channels/${id}/messages/${m}` })),
    };
    if (contract.operationBindings) operation.bindings = contract.operationBindings;
    this.operations[`send_${id}`] = operation;
  }

  build(): Obj {
    return {
      asyncapi: '3.0.0',
      info: {
        title: `${this.contracts.specs.map((s) => s.title).join(', ') || 'reflex'} events`,
        version: this.contracts.specs.map((s) => s.version).join('+') || '0.0.0',
        description: 'Domain events and change records reflex derives from API traffic, with JSON Schemas inferred from the annotated OpenAPI specs.',
      },
      defaultContentType: 'application/json',
      ...(Object.keys(this.servers).length > 0 ? { servers: this.servers } : {}),
      channels: this.channels,
      operations: this.operations,
      components: { messages: this.messages, schemas: this.schemas },
    };
  }

  /** An event type's message in the sink's content mode; its data schema is shared by every mode. */
  private eventMessage(event: EventContract, contract: SinkContract): [string, Obj] {
    const dataId = this.schema(event.type, event.schema);
    const data = { $ref: `#/components/schemas/${dataId}` };
    const attributes = { type: event.type, stream: event.stream, operations: event.operations };
    const binary = contract.mode === 'binary';
    const key = binary ? dataId : `${dataId}_structured`;
    this.messages[key] ??= {
      name: event.type,
      title: event.type,
      summary: `CloudEvents ${contract.mode} mode: ${binary ? 'the attributes in headers, data as the payload' : 'the whole event as the payload'}`,
      contentType: binary ? 'application/json' : 'application/cloudevents+json',
      ...headers(binary ? binaryHeaders(attributes, contract) : plainHeaders(contract)),
      payload: binary ? data : cloudEvent(attributes, data),
      ...(contract.messageBindings ? { bindings: contract.messageBindings } : {}),
    };
    return [key, { $ref: `#/components/messages/${key}` }];
  }

  private changeMessages(resource: ResourceContract, contract: SinkContract): Array<[string, Obj]> {
    const recordId = this.schema(`${resource.resource}.change`, resource.changeRecord);
    const record = { $ref: `#/components/schemas/${recordId}` };
    if (contract.changeRecords === 'event') {
      const key = `${recordId}_event`;
      const type = { enum: CHANGE_TYPES.map((t) => `${resource.stream}.${t}`) };
      this.messages[key] ??= {
        name: `${resource.stream}.change`,
        title: `${resource.resource} change record in a CloudEvent`,
        summary: 'the change record as `data` of a CloudEvent of type `<stream>.created|updated|deleted|read`',
        contentType: 'application/cloudevents+json',
        ...headers(plainHeaders(contract)),
        payload: cloudEvent({ type, stream: resource.stream, operations: null }, record),
      };
      return [[key, { $ref: `#/components/messages/${key}` }]];
    }
    this.messages[recordId] ??= {
      name: `${resource.stream}.change`,
      title: `${resource.resource} change record`,
      summary: 'Debezium-shaped: op, key, before, after, changed, ts_ms, source; on Kafka a delete is followed by a tombstone (null value)',
      contentType: 'application/json',
      payload: record,
      ...(contract.messageBindings ? { bindings: contract.messageBindings } : {}),
    };
    return [[recordId, { $ref: `#/components/messages/${recordId}` }]];
  }

  /** A JSON Schema under components/schemas, as AsyncAPI's schema object has it (no `$schema`). */
  private schema(name: string, schema: Obj): string {
    const id = safeId(name);
    const { $schema: _draft, ...rest } = schema;
    this.schemas[id] = rest;
    return id;
  }
}

interface Attributes {
  type: string | { enum: string[] };
  stream: string;
  operations: string[] | null;
}

function attributeSchemas(a: Attributes): Record<string, Obj> {
  return {
    specversion: { type: 'string', const: '1.0' },
    id: { ...STRING, description: 'deterministic: a hash of the request id and the rule' },
    source: STRING,
    type: typeof a.type === 'string' ? { type: 'string', const: a.type } : { type: 'string', ...a.type },
    subject: { ...STRING, description: 'the resource key' },
    time: { type: 'string', format: 'date-time', description: 'the request time' },
    reflexstream: { type: 'string', const: a.stream },
    reflexoperation: a.operations ? { type: 'string', enum: a.operations } : STRING,
    reflexrequestid: STRING,
  };
}

const REQUIRED_ATTRIBUTES = ['specversion', 'id', 'source', 'type', 'time', 'reflexstream', 'reflexoperation', 'reflexrequestid'];

/** Binary mode: each attribute in a header of its own (`ce_type`), data's content type in `content-type`. */
function binaryHeaders(a: Attributes, contract: SinkContract): Obj {
  const prefix = contract.headerPrefix ?? 'ce_';
  const properties: Obj = { 'content-type': { type: 'string', const: 'application/json' } };
  for (const [name, schema] of Object.entries(attributeSchemas(a))) properties[`${prefix}${name}`] = schema;
  Object.assign(properties, contract.headers ?? {});
  return { type: 'object', required: ['content-type', ...REQUIRED_ATTRIBUTES.map((n) => `${prefix}${n}`), ...Object.keys(contract.headers ?? {})], properties };
}

function headers(schema: Obj | undefined): Obj {
  return schema ? { headers: schema } : {};
}

function plainHeaders(contract: SinkContract): Obj | undefined {
  if (!contract.headers) return undefined;
  return { type: 'object', required: Object.keys(contract.headers), properties: contract.headers };
}

/** Structured mode: the CloudEvent itself. */
function cloudEvent(a: Attributes, data: Obj): Obj {
  return {
    type: 'object',
    required: [...REQUIRED_ATTRIBUTES, 'datacontenttype', 'data'],
    properties: { ...attributeSchemas(a), datacontenttype: { type: 'string', const: 'application/json' }, data },
  };
}

/** Component and channel ids: letters, digits, `_` and `-` (AsyncAPI's pattern for component keys). */
function safeId(name: string): string {
  return name.replace(/[^A-Za-z0-9_-]/g, '_');
}
