import { createHmac, createSecretKey, randomBytes, type KeyObject } from 'node:crypto';

/**
 * Standard Webhooks signatures (https://www.standardwebhooks.com/): secrets are `whsec_` + base64
 * of the key bytes; the signature is `v1,` + base64 HMAC-SHA256 of `id.timestamp.body`.
 */
const PREFIX = 'whsec_';

export function generateSecret(): string {
  return PREFIX + randomBytes(24).toString('base64');
}

/** Why a user-given secret is unusable, or null when it is fine. */
export function secretProblem(secret: string): string | null {
  if (!secret.startsWith(PREFIX)) return `a signing secret starts with '${PREFIX}' followed by base64`;
  const key = Buffer.from(secret.slice(PREFIX.length), 'base64');
  if (key.length < 24 || key.length > 64) return 'a signing secret holds 24 to 64 bytes of base64 after whsec_';
  return null;
}

// An endpoint has one or two secrets at a time: their keys are decoded once, not per delivery.
const keys = new Map<string, KeyObject>();
const MAX_KEYS = 1024;

function keyOf(secret: string): KeyObject {
  let key = keys.get(secret);
  if (!key) {
    if (keys.size >= MAX_KEYS) keys.clear();
    key = createSecretKey(Buffer.from(secret.startsWith(PREFIX) ? secret.slice(PREFIX.length) : secret, 'base64'));
    keys.set(secret, key);
  }
  return key;
}

/** The `webhook-signature` header: one `v1,<sig>` per secret, space separated (several during rotation). */
export function signatureHeader(secrets: string[], id: string, timestampSeconds: number, body: string): string {
  return secrets
    .map((secret) => 'v1,' + createHmac('sha256', keyOf(secret)).update(`${id}.${timestampSeconds}.${body}`).digest('base64'))
    .join(' ');
}

/** What a delivery is signed with: the event id, the time it leaves (seconds) and the endpoint's signing secrets. */
export interface Signing {
  eventId: string;
  timestampSeconds: number;
  secrets: string[];
}

/** A delivery's request headers (CloudEvents structured mode, Standard Webhooks id, timestamp and signature). */
export function signedHeaders(signing: Signing, body: string): Record<string, string> {
  return {
    'content-type': 'application/cloudevents+json; charset=utf-8',
    'user-agent': 'reflex-webhooks',
    'webhook-id': signing.eventId,
    'webhook-timestamp': String(signing.timestampSeconds),
    'webhook-signature': signatureHeader(signing.secrets, signing.eventId, signing.timestampSeconds, body),
  };
}
