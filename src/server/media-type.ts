import type { FastifyReply, FastifyRequest } from 'fastify';
import { API_CODES } from '../codes.js';

const JSON_TYPES = ['application/json', 'application/x-ndjson', 'application/ndjson', 'application/jsonl', 'application/x-jsonl', 'application/jsonlines', 'application/x-jsonlines'];
const ACCEPTED = new Set(JSON_TYPES);
const STRUCTURED_SUFFIX = /^application\/[a-z0-9!#$&^_.+-]+\+json$/;

/** True for JSON and NDJSON media types (`application/json`, `application/x-ndjson`, `application/*+json`, ...), parameters aside. */
export function isJsonMediaType(contentType: string | undefined): boolean {
  if (!contentType) return false;
  const type = contentType.split(';', 1)[0]!.trim().toLowerCase();
  return ACCEPTED.has(type) || STRUCTURED_SUFFIX.test(type);
}

/**
 * An onRequest hook answering 415 unless the body is declared JSON or NDJSON. A web page can send
 * `text/plain`, form data or no type at all across sites without asking (a CORS "simple request");
 * a JSON type needs a preflight, which reflex never grants.
 */
export async function requireJsonMediaType(request: FastifyRequest, reply: FastifyReply) {
  const type = request.headers['content-type'];
  if (isJsonMediaType(type)) return;
  return reply.code(415).send({
    error: `${type ? `content-type '${type}'` : 'a request without content-type'} is not accepted here; send ${JSON_TYPES.join(', ')} or application/<anything>+json`,
    code: API_CODES.unsupportedMediaType,
  });
}
