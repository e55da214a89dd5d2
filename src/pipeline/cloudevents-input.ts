import { ReflexError } from '../errors.js';
import { API_CODES } from '../codes.js';

/** A CloudEvent as an application publishes it: the required context attributes, data, extensions. */
export interface PublishedEvent {
  specversion: '1.0';
  id: string;
  source: string;
  type: string;
  [attribute: string]: unknown;
}

/** A published event that breaks CloudEvents 1.0: 400, with the JSON pointer of what is wrong. */
export class CloudEventInputError extends ReflexError {
  constructor(pointer: string, message: string) {
    super(API_CODES.badCloudEvent, `${message} (at ${pointer || '/'})`, { status: 400, pointer });
  }
}

/** Context attributes of the spec and its documented extensions, with their types. */
const STRING_ATTRIBUTES = ['id', 'source', 'type', 'subject', 'datacontenttype', 'dataschema', 'time', 'specversion'];
/** CloudEvents 1.0: attribute names are lower-case letters and digits, at most 20 characters. */
const ATTRIBUTE_NAME = /^[a-z0-9]{1,20}$/;
/** RFC 3339 date-time, as CloudEvents 1.0 requires for `time`. */
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

const MEDIA = {
  structured: 'application/cloudevents+json',
  batch: 'application/cloudevents-batch+json',
};

/**
 * The events of a publish request in any of the three modes of the CloudEvents HTTP binding:
 * structured (`application/cloudevents+json`, one event), batched (`application/cloudevents-batch+json`,
 * an array) or binary (`ce-*` headers, the body is `data` in its own media type).
 */
export function readCloudEvents(contentType: string | undefined, headers: Record<string, string | string[] | undefined>, body: string): PublishedEvent[] {
  const media = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (media === MEDIA.structured) return [checkEvent(parseJson(body, ''), '')];
  if (media === MEDIA.batch) {
    const list = parseJson(body, '');
    if (!Array.isArray(list)) throw new CloudEventInputError('', `a ${MEDIA.batch} body is a JSON array of events`);
    if (list.length === 0) throw new CloudEventInputError('', 'the batch is empty');
    return list.map((e, i) => checkEvent(e, `/${i}`));
  }
  return [checkEvent(binaryEvent(media, contentType, headers, body), '')];
}

function binaryEvent(media: string, contentType: string | undefined, headers: Record<string, string | string[] | undefined>, body: string): Record<string, unknown> {
  const event: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (!name.startsWith('ce-') || value === undefined) continue;
    // Header values are percent-encoded where they are not printable ASCII (HTTP binding 3.1.3.2).
    event[name.slice(3)] = decodeURIComponent(Array.isArray(value) ? value.join(',') : value);
  }
  if (Object.keys(event).length === 0) {
    throw new CloudEventInputError('', `no CloudEvent here: send ${MEDIA.structured}, ${MEDIA.batch}, or the binary mode's ce-id, ce-source, ce-specversion and ce-type headers with the data as the body`);
  }
  if (contentType) event.datacontenttype = contentType;
  if (body.length > 0) event.data = /[/+]json$/.test(media) ? parseJson(body, '/data') : body;
  return event;
}

function parseJson(text: string, pointer: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new CloudEventInputError(pointer, `not JSON: ${(err as Error).message}`);
  }
}

/** Checks an event against CloudEvents 1.0 (required attributes, their types, `time`, extension names). */
function checkEvent(value: unknown, at: string): PublishedEvent {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new CloudEventInputError(at, 'an event is a JSON object');
  const event = value as Record<string, unknown>;
  for (const name of ['specversion', 'id', 'source', 'type']) {
    if (event[name] === undefined) throw new CloudEventInputError(`${at}/${name}`, `${name} is required`);
  }
  if (event.specversion !== '1.0') throw new CloudEventInputError(`${at}/specversion`, `specversion must be "1.0"; got ${JSON.stringify(event.specversion)}`);
  for (const [name, attr] of Object.entries(event)) {
    if (name === 'data' || name === 'data_base64') continue;
    if (!ATTRIBUTE_NAME.test(name)) throw new CloudEventInputError(`${at}/${name}`, `attribute names are 1-20 lower-case letters or digits; ${JSON.stringify(name)} is not`);
    if (STRING_ATTRIBUTES.includes(name) && typeof attr !== 'string') throw new CloudEventInputError(`${at}/${name}`, `${name} is a string`);
    if (attr === null || (typeof attr === 'object')) throw new CloudEventInputError(`${at}/${name}`, `${name} must be a string, number or boolean (an attribute, not a structure)`);
    if (STRING_ATTRIBUTES.includes(name) && name !== 'subject' && attr === '') throw new CloudEventInputError(`${at}/${name}`, `${name} must not be empty`);
  }
  if (event.time !== undefined && (!RFC3339.test(event.time as string) || Number.isNaN(Date.parse(event.time as string)))) {
    throw new CloudEventInputError(`${at}/time`, `time must be an RFC 3339 date-time (e.g. 2026-12-02T08:00:00Z); got ${JSON.stringify(event.time)}`);
  }
  if (event.data !== undefined && event.data_base64 !== undefined) throw new CloudEventInputError(`${at}/data_base64`, 'an event has data or data_base64, not both');
  return event as PublishedEvent;
}
