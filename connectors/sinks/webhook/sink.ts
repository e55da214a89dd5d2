import type { SinkConnector } from '../../../src/sinks/connector.js';

interface WebhookSinkConfig {
  name?: string;
  url: string;
  streams?: string[];
  types?: string[];
  filter?: string;
  secret: string;
  description?: string;
}

/**
 * A webhook endpoint kept in reflex.yaml instead of registered over the API. Delivery (signing,
 * retries, dead letters, replay) is reflex's webhook service; this block only declares the endpoint,
 * whose id is the sink's name and which shows up under GET /webhooks like the others.
 */
export const webhookSink: SinkConnector<WebhookSinkConfig> = {
  type: 'webhook',
  summary: 'POSTs each event as a signed CloudEvent (Standard Webhooks) to a URL, retried on a schedule, with dead letters and replay',
  configSchema: {
    type: 'object',
    additionalProperties: false,
    required: ['url', 'secret'],
    properties: {
      name: { type: 'string', pattern: '^[A-Za-z0-9._-]+$', description: 'endpoint id under /webhooks (default: the URL host)' },
      url: { type: 'string', description: 'http(s) URL to POST events to' },
      streams: { type: 'array', items: { type: 'string' }, minItems: 1, default: ['*'], description: 'streams to deliver; "*" for all' },
      types: { type: 'array', items: { type: 'string' }, description: 'event types to deliver (`order.*` matches a prefix); default all' },
      filter: { type: 'string', description: 'CEL over `event`; only events for which it is true are delivered' },
      secret: { type: 'string', description: 'signing secret, whsec_ + base64 (use ${ENV})' },
      description: { type: 'string', description: 'free text shown by GET /webhooks' },
    },
  },
  instanceName: (config) => config.name ?? safeHost(config.url),
  streams: (config) => config.streams ?? ['*'],
  create(config, context) {
    context.webhooks.declare(context.name, {
      url: config.url,
      streams: config.streams ?? ['*'],
      types: config.types ?? null,
      filter: config.filter ?? null,
      secret: config.secret,
      description: config.description ?? null,
    });
    return null;
  },
};

function safeHost(url: string): string {
  try {
    return new URL(url).host.replace(/[^A-Za-z0-9._-]/g, '-');
  } catch {
    return 'webhook';
  }
}
