import { BackpressureError, defineSource, PayloadError, Type } from '../../../src/sdk/index.js';

const HttpReceiverConfig = Type.Object({
  path: Type.String({ pattern: '^/', description: 'path of the POST endpoint' }),
}, { additionalProperties: false });

/**
 * Receives logs pushed over HTTP (Kong's http-log, any NDJSON shipper). Answers 200 only after the
 * batch is committed; 400 with the parser's message and position when the body is malformed, and
 * then nothing of it is stored.
 */
export const httpReceiver = defineSource({
  type: 'http',
  summary: 'receives gateway logs POSTed to a path of reflex\'s HTTP server',
  config: HttpReceiverConfig,
  name: { text: 'http:<path>', of: (config) => `http:${config.path}` },
  format: 'the posted bodies',
  create(config, ctx) {
    const receive = async (body: string | Uint8Array) => {
      let answer;
      try {
        // Decoded here or on an ingest worker (ingest.workers). The gateway holds the request:
        // answer 503 with Retry-After at once rather than wait for a sink's backlog.
        answer = await ctx.ingestPayload(body, { backpressure: 'refuse' });
      } catch (err) {
        if (err instanceof PayloadError) return { status: err.status, body: err.answerBody() };
        if (!(err instanceof BackpressureError)) throw err;
        return { status: err.status, headers: { 'retry-after': String(err.retryAfterSeconds) }, body: err.answerBody() };
      }
      const { received, result } = answer;
      return {
        status: 200,
        body: {
          received,
          accepted: result.accepted,
          duplicates: result.duplicates,
          records: result.records,
          deadLetters: result.deadLetters,
          unmatched: result.unmatched,
        },
      };
    };
    // As bytes where the server can hand them over: an ingest worker decodes them, not the thread that commits.
    if (ctx.http.postBytes) ctx.http.postBytes(config.path, receive);
    else ctx.http.post(config.path, receive);
    return { async start() {}, async stop() {} };
  },
});
