import { Default, defineSink, Type } from '../../../src/sdk/index.js';
import { WebhookService } from './service.js';
import { ClusterWebhookDelivery } from './cluster-delivery.js';
import { secretProblem } from './signing.js';
import { webhookContract } from './contract.js';

/**
 * Webhooks. The connector's service (one per process) serves `/webhooks`, keeps every endpoint's
 * outbox and delivers to it; a `type: webhook` block of reflex.yaml declares one endpoint there,
 * whose id is the sink's name and which shows up under GET /webhooks like the ones registered over the API.
 */
export const webhookSink = defineSink({
  type: 'webhook',
  summary: 'POSTs each event as a signed CloudEvent (Standard Webhooks) to a URL, retried on a schedule, with dead letters and replay',
  config: Type.Object({
    name: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9._-]+$', description: 'endpoint id under /webhooks (default: the URL host)' })),
    url: Type.String({ description: 'http(s) URL to POST events to' }),
    streams: Default(Type.Array(Type.String(), { minItems: 1, description: 'streams to deliver; "*" for all' }), ['*']),
    types: Type.Optional(Type.Array(Type.String(), { description: 'event types to deliver (`order.*` matches a prefix); default all' })),
    filter: Type.Optional(Type.String({ description: 'CEL over `event`; only events for which it is true are delivered' })),
    secret: Type.String({ description: 'signing secret, whsec_ + base64 (use ${ENV})' }),
    description: Type.Optional(Type.String({ description: 'free text shown by GET /webhooks' })),
  }, { additionalProperties: false }),
  name: { text: 'the URL host', of: (config) => safeHost(config.url) },
  service: (ctx) => new WebhookService(ctx, ctx.config.webhooks, ctx.logger.child({ part: 'webhooks' })),
  create(config, context) {
    context.service.declare(context.name, {
      url: config.url,
      streams: config.streams,
      types: config.types ?? null,
      filter: config.filter ?? null,
      secret: config.secret,
      description: config.description ?? null,
    }, config.maxBacklog);
    // The service follows the log for the endpoint and stops with the process.
    return { deliveredBy: 'service', close: async () => {} };
  },
  cluster(config, context) {
    const problem = secretProblem(config.secret);
    if (problem) throw Object.assign(new Error(problem), { field: '/secret' });
    return new ClusterWebhookDelivery({ url: config.url, secret: config.secret, types: config.types ?? null, filter: config.filter ?? null }, context);
  },
  contract: webhookContract,
});

function safeHost(url: string): string {
  try {
    return new URL(url).host.replace(/[^A-Za-z0-9._-]/g, '-');
  } catch {
    return 'webhook';
  }
}
