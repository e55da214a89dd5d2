import type { SourceConnector } from '../../../src/sources/connector.js';
import { BackpressureError, PayloadError } from '../../../src/sources/types.js';

interface HttpReceiverConfig {
  /** Path of the POST endpoint, e.g. /ingest/kong. */
  path: string;
  /** Log format of the bodies posted there. */
  format: string;
  name?: string;
}

/**
 * Receives logs pushed over HTTP (Kong's http-log, any NDJSON shipper). Answers 200 only after the
 * batch is committed; 400 with the parser's message and position when the body is malformed, and
 * then nothing of it is stored.
 */
export const httpReceiver: SourceConnector<HttpReceiverConfig> = {
  type: 'http',
  summary: 'receives gateway logs POSTed to a path of reflex\'s HTTP server',
  configSchema: {
    type: 'object',
    additionalProperties: false,
    required: ['path', 'format'],
    properties: {
      name: { type: 'string', description: 'instance name (default: http:<path>)' },
      path: { type: 'string', pattern: '^/', description: 'path of the POST endpoint' },
      format: { type: 'string', description: 'log format of the posted bodies (kong, exchange, ...)' },
    },
  },
  instanceName: (config) => config.name ?? `http:${config.path}`,
  create(config, ctx) {
    const format = ctx.formats.get(config.format);
    if (!format) throw new Error(`unknown format '${config.format}' (known: ${[...ctx.formats.keys()].join(', ')})`);
    ctx.http.post(config.path, async (body) => {
      let entries;
      try {
        entries = format.decode(body);
      } catch (err) {
        if (err instanceof PayloadError) {
          return { status: 400, body: { error: err.message, line: err.line ?? null, column: err.column ?? null } };
        }
        throw err;
      }
      let result;
      try {
        result = await ctx.ingest(entries);
      } catch (err) {
        if (!(err instanceof BackpressureError)) throw err;
        return { status: 503, headers: { 'retry-after': String(err.retryAfterSeconds) }, body: { error: err.message } };
      }
      return {
        status: 200,
        body: {
          received: entries.length,
          accepted: result.accepted,
          duplicates: result.duplicates,
          records: result.records,
          deadLetters: result.deadLetters,
          unmatched: result.unmatched,
        },
      };
    });
    return { async start() {}, async stop() {} };
  },
};
