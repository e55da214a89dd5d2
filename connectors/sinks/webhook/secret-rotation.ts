import type { StoredSecret } from './store.js';

const live = (s: StoredSecret, now: number) => s.expiresAt === null || s.expiresAt > now;

/** The secrets that sign a delivery at `now`: the current one and those still in their grace period. */
export function signingSecrets(secrets: StoredSecret[], now: number): string[] {
  return secrets.filter((s) => live(s, now)).map((s) => s.secret);
}

/** After `rotate-secret`: `next` signs from now on, every secret still signing keeps signing until `graceUntil` at most. */
export function rotatedSecrets(secrets: StoredSecret[], next: string, now: number, graceUntil: number): StoredSecret[] {
  const previous = secrets.filter((s) => live(s, now)).map((s) => ({ secret: s.secret, expiresAt: s.expiresAt ?? graceUntil }));
  return [{ secret: next, expiresAt: null }, ...previous];
}

/**
 * A secret from reflex.yaml: unchanged, the stored list stays; a new one becomes current at once
 * (whoever edits the file chooses when), and only secrets already in a grace period keep it.
 */
export function declaredSecrets(secrets: StoredSecret[], secret: string, now: number): StoredSecret[] {
  if (secrets[0]?.secret === secret) return secrets;
  const keep = secrets.filter((s) => s.secret !== secret && s.expiresAt !== null && s.expiresAt > now);
  return [{ secret, expiresAt: null }, ...keep];
}
