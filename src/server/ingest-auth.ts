import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { IngestAuth } from '../config/types.js';

// Hashing first makes the comparison constant-time whatever the lengths.
const digest = (text: string) => createHash('sha256').update(text).digest();
const same = (a: string, b: Buffer) => timingSafeEqual(digest(a), b);

/** Checks `Authorization: Bearer <token>` or `Basic` against the configured credential. */
export function ingestAuthHook(auth: IngestAuth) {
  const token = auth.token !== undefined ? digest(auth.token) : null;
  const basic = auth.basic ? digest(`${auth.basic.username}:${auth.basic.password}`) : null;
  const challenge = [token ? 'Bearer realm="reflex ingest"' : null, basic ? 'Basic realm="reflex ingest"' : null].filter(Boolean).join(', ');
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const header = request.headers.authorization ?? '';
    const space = header.indexOf(' ');
    const scheme = header.slice(0, Math.max(space, 0)).toLowerCase();
    const value = header.slice(space + 1).trim();
    if (scheme === 'bearer' && token && same(value, token)) return;
    if (scheme === 'basic' && basic && same(Buffer.from(value, 'base64').toString('utf8'), basic)) return;
    reply.header('www-authenticate', challenge);
    return reply.code(401).send({ error: header ? 'the ingest credential is wrong' : 'ingest needs a credential (Authorization header); see server.ingestAuth' });
  };
}
