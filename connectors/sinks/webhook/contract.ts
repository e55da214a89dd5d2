import type { SinkContract } from '../../../src/sdk/index.js';
import { takesType } from './event-types.js';

/** A webhook endpoint in the AsyncAPI document: one POST per record, a structured CloudEvent signed as Standard Webhooks says. */
export function webhookContract(config: { url: string; types?: string[] | undefined }): SinkContract {
  const url = new URL(config.url);
  return {
    server: { host: url.host, protocol: url.protocol.replace(/:$/, ''), description: 'a webhook endpoint declared in reflex.yaml' },
    layout: 'endpoint',
    address: () => `${url.pathname}${url.search}`,
    mode: 'structured',
    changeRecords: 'event',
    takes: (type) => takesType(config.types, type),
    headers: {
      'content-type': { type: 'string', const: 'application/cloudevents+json; charset=utf-8' },
      'webhook-id': { type: 'string', description: 'the event id: the same on every attempt, so a receiver can drop duplicates' },
      'webhook-timestamp': { type: 'string', pattern: '^[0-9]+$', description: 'seconds since the epoch when the attempt was signed' },
      'webhook-signature': {
        type: 'string',
        pattern: '^v1,[A-Za-z0-9+/=]+( v1,[A-Za-z0-9+/=]+)*$',
        description: 'Standard Webhooks: base64 HMAC-SHA256 of `<webhook-id>.<webhook-timestamp>.<body>` with each active secret, space separated',
      },
    },
    operationBindings: { http: { method: 'POST', bindingVersion: '0.3.0' } },
  };
}
