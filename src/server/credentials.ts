import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Credential } from '../config/types.js';

// Hashing first makes the comparison constant-time whatever the lengths.
const digest = (text: string) => createHash('sha256').update(text).digest();
const same = (a: string, b: Buffer) => timingSafeEqual(digest(a), b);

/** True when `Authorization` carries the configured bearer token or basic credential. */
export function credentialCheck(auth: Credential): { check(header: string | undefined): boolean; challenge: string } {
  const token = auth.token !== undefined ? digest(auth.token) : null;
  const basic = auth.basic ? digest(`${auth.basic.username}:${auth.basic.password}`) : null;
  return {
    challenge: [token ? 'Bearer realm="reflex"' : null, basic ? 'Basic realm="reflex"' : null].filter(Boolean).join(', '),
    check(header) {
      if (!header) return false;
      const space = header.indexOf(' ');
      const scheme = header.slice(0, Math.max(space, 0)).toLowerCase();
      const value = header.slice(space + 1).trim();
      if (scheme === 'bearer' && token) return same(value, token);
      if (scheme === 'basic' && basic) return same(Buffer.from(value, 'base64').toString('utf8'), basic);
      return false;
    },
  };
}

/** An onRequest hook answering 401 unless the request carries `auth`; `key` names the config key in the message. */
export function requireCredential(auth: Credential, key: string) {
  const credential = credentialCheck(auth);
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const header = request.headers.authorization;
    if (credential.check(header)) return;
    reply.header('www-authenticate', credential.challenge);
    return reply.code(401).send({ error: header ? 'the credential is wrong' : `this route needs a credential (Authorization header); see ${key}` });
  };
}

export function isLoopbackAddress(address: string | undefined): boolean {
  if (!address) return false;
  return address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.');
}
