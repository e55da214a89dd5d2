/**
 * Posting batches the way Kong's http-log does (a JSON array per request, keep-alive connections),
 * and tallying what the server answered, so a run that silently failed cannot pass as fast.
 */
import { Pool } from 'undici';

export interface Batch {
  body: Buffer;
  entries: number;
}

/** Sums of the answers' counters (reflex answers with all of them, the baseline with `received`). */
export interface Tally {
  batches: number;
  entries: number;
  errors: number;
  firstError: string | null;
  received: number;
  accepted: number;
  duplicates: number;
  records: number;
  deadLetters: number;
  unmatched: number;
}

export function emptyTally(): Tally {
  return { batches: 0, entries: 0, errors: 0, firstError: null, received: 0, accepted: 0, duplicates: 0, records: 0, deadLetters: 0, unmatched: 0 };
}

export function toBatches(texts: string[], size: number): Batch[] {
  const out: Batch[] = [];
  for (let i = 0; i < texts.length; i += size) {
    const slice = texts.slice(i, i + size);
    // Encoded once here, so the client spends its time sending rather than encoding.
    out.push({ body: Buffer.from(`[${slice.join(',')}]`), entries: slice.length });
  }
  return out;
}

export function createPool(url: string, connections: number): Pool {
  return new Pool(url, { connections, pipelining: 1, keepAliveTimeout: 60_000, bodyTimeout: 60_000, headersTimeout: 60_000 });
}

export async function postBatch(pool: Pool, path: string, batch: Batch, tally: Tally): Promise<void> {
  try {
    const res = await pool.request({ path, method: 'POST', body: batch.body, headers: { 'content-type': 'application/json' } });
    const text = await res.body.text();
    if (res.statusCode !== 200) {
      fail(tally, `HTTP ${res.statusCode}: ${text.slice(0, 300)}`);
      return;
    }
    const answer = JSON.parse(text) as Partial<Record<keyof Tally, number>>;
    tally.batches++;
    tally.entries += batch.entries;
    tally.received += answer.received ?? 0;
    tally.accepted += answer.accepted ?? 0;
    tally.duplicates += answer.duplicates ?? 0;
    tally.records += answer.records ?? 0;
    tally.deadLetters += answer.deadLetters ?? 0;
    tally.unmatched += answer.unmatched ?? 0;
  } catch (err) {
    fail(tally, (err as Error).message);
  }
}

function fail(tally: Tally, message: string): void {
  tally.errors++;
  tally.firstError ??= message;
}
