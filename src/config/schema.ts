import { FILE_PATH_KEYWORD } from '../sdk/schema.js';

/** A bearer token, HTTP basic credentials, or both (either is accepted). */
function credential(where: string) {
  return {
    type: 'object',
    additionalProperties: false,
    description: `credential required on ${where}`,
    properties: {
      token: { type: 'string', minLength: 16, description: 'shared secret, sent as `Authorization: Bearer <token>` (use ${ENV})' },
      basic: {
        type: 'object',
        additionalProperties: false,
        required: ['username', 'password'],
        description: 'HTTP basic credentials (`Authorization: Basic`)',
        properties: { username: { type: 'string', minLength: 1 }, password: { type: 'string', minLength: 8 } },
      },
    },
  } as const;
}

/** JSON Schema of reflex.yaml. Connector blocks are checked again by their connector's own schema. */
export const CONFIG_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  properties: {
    specs: { type: 'array', items: { type: 'string', [FILE_PATH_KEYWORD]: true }, description: 'annotated OpenAPI files, relative to the config file' },
    server: {
      type: 'object',
      additionalProperties: false,
      properties: {
        host: { type: 'string', description: 'address to listen on (default 127.0.0.1)' },
        port: { type: 'integer', minimum: 0, maximum: 65535, description: 'port (default 8088)' },
        bodyLimit: { type: ['string', 'integer'], description: 'largest accepted request body, e.g. 10mb (default)' },
        ingestAuth: { ...credential('/ingest/*; without one reflex listens on loopback only') },
        apiAuth: { ...credential('every other route but /healthz and /readyz; without one they answer loopback clients only') },
        requestTimeout: { type: 'string', description: 'a request (headers and body) not received within this is answered 408 and its connection closed (default 60s; 0: none)' },
        headersTimeout: { type: 'string', description: 'the same for the request headers alone, at most requestTimeout (default 20s; 0: none)' },
        idleTimeout: { type: 'string', description: 'a connection silent this long, either way, is closed (default 2m; 0: none)' },
      },
    },
    webhooks: {
      type: 'object',
      additionalProperties: false,
      description: 'how webhook endpoints (POST /webhooks, or `type: webhook` sinks) are delivered to',
      properties: {
        allowPrivateAddresses: { type: 'boolean', description: 'deliver to loopback, private and link-local addresses (default false)' },
        retrySchedule: { type: 'array', minItems: 1, items: { type: 'string' }, description: 'delay before each attempt (default 0s, 5s, 5m, 30m, 2h, 5h, 10h, 10h)' },
        jitter: { type: 'number', minimum: 0, maximum: 1, description: 'each retry delay is spread by ± this fraction (default 0.2)' },
        timeout: { type: 'string', description: 'per request, e.g. 15s (default)' },
        disableAfter: { type: 'string', description: 'an endpoint failing without a success this long is disabled (default 5d)' },
        rotationGrace: { type: 'string', description: 'how long the previous secret keeps signing after a rotation (default 24h)' },
        maxResponseBytes: { type: 'integer', minimum: 0, description: 'response bytes kept in the delivery log (default 4096)' },
        concurrency: { type: 'integer', minimum: 1, description: 'deliveries in flight per endpoint (default 16)' },
      },
    },
    store: {
      type: 'object',
      additionalProperties: false,
      properties: {
        type: { const: 'sqlite', description: 'the embedded store (the only one so far)' },
        path: { type: 'string', [FILE_PATH_KEYWORD]: true, description: 'database file (default .reflex/reflex.db)' },
        retention: { type: 'string', description: 'keep records this long, e.g. 7d (default); 0 keeps everything' },
        dedupeWindow: { type: 'string', description: 'a log entry re-sent within this window is dropped (default 24h)' },
        sync: { enum: ['full', 'normal'], description: 'full: fsync each commit (default); normal: survive process crashes only' },
      },
    },
    log: {
      type: 'object',
      additionalProperties: false,
      properties: {
        level: { enum: ['debug', 'info', 'warn', 'error'] },
        format: { enum: ['text', 'json'] },
      },
    },
    cdc: {
      type: 'object',
      additionalProperties: false,
      properties: {
        reorderWindow: { type: 'string', description: 'changes wait this long so out-of-order logs apply in request-time order (default 3s; 0 applies at once)' },
      },
    },
    specRefs: {
      type: 'object',
      additionalProperties: false,
      description: "what a spec's $refs may read besides the spec's own folder tree",
      properties: {
        allow: { type: 'array', items: { type: 'string' }, description: 'more folders (relative to the config file) and http(s) URL prefixes $refs may read (default none)' },
        maxBytes: { type: ['string', 'integer'], description: 'largest file a $ref (or the spec itself) may be, e.g. 32mb (default)' },
      },
    },
    limits: {
      type: 'object',
      additionalProperties: false,
      description: 'bounds on what one log entry may cost',
      properties: {
        jsonDepth: { type: 'integer', minimum: 16, maximum: 1000, description: 'a body nested deeper than this many levels stays text (default 256)' },
        ruleTimeout: { type: 'string', description: 'longest one rule expression may run, e.g. 50ms (default); past it the exchange is a dead letter (RX411)' },
        ruleDepth: { type: 'integer', minimum: 16, maximum: 10000, description: "deepest a JSONata expression's evaluation may nest, recursion included (default 500; RX412)" },
        eventSize: { type: ['string', 'integer'], description: 'largest event a rule may build, serialized, e.g. 1mb (default; RX413)' },
      },
    },
    sources: { type: 'array', items: { type: 'object', required: ['type'], properties: { type: { type: 'string' } } } },
    sinks: { type: 'array', items: { type: 'object', required: ['type'], properties: { type: { type: 'string' } } } },
  },
} as const;
