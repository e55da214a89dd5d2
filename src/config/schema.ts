/** JSON Schema of reflex.yaml. Connector blocks are checked again by their connector's own schema. */
export const CONFIG_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  properties: {
    specs: { type: 'array', items: { type: 'string' }, description: 'annotated OpenAPI files, relative to the config file' },
    server: {
      type: 'object',
      additionalProperties: false,
      properties: {
        host: { type: 'string', description: 'address to listen on (default 127.0.0.1)' },
        port: { type: 'integer', minimum: 0, maximum: 65535, description: 'port (default 8088)' },
        bodyLimit: { type: ['string', 'integer'], description: 'largest accepted request body, e.g. 10mb (default)' },
      },
    },
    store: {
      type: 'object',
      additionalProperties: false,
      properties: {
        type: { const: 'sqlite', description: 'the embedded store (the only one so far)' },
        path: { type: 'string', description: 'database file (default .reflex/reflex.db)' },
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
    sources: { type: 'array', items: { type: 'object', required: ['type'], properties: { type: { type: 'string' } } } },
    sinks: { type: 'array', items: { type: 'object', required: ['type'], properties: { type: { type: 'string' } } } },
  },
} as const;
