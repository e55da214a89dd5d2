import { CODES, hashJson, PayloadError, type DecodedEntry, type LogFormat } from '../../../src/sdk/index.js';

export interface Hit {
  _index: string;
  _id?: string;
  _source?: unknown;
  sort?: unknown[];
}

/** `_index/_id`: what identifies a document for the source's own "already read" set and dead letters. */
export const docKey = (hit: Hit) => `${hit._index}/${hit._id ?? ''}`;

/**
 * One document's `_source` through the log format. Where the format found no request id (its
 * fallback is `h` + a hash of the entry) the request id becomes `_index/_id`, so the dedupe window
 * knows a document read again by the lookback. What cannot become an Exchange is a dead letter
 * naming the index, `_id` and the JSON pointer inside `_source`.
 */
export function decodeHit(format: LogFormat, hit: Hit): DecodedEntry[] {
  const file = `elasticsearch:${docKey(hit)}`;
  const source = hit._source ?? null;
  let entries: DecodedEntry[];
  try {
    entries = format.decode(JSON.stringify(source));
  } catch (err) {
    if (!(err instanceof PayloadError)) throw err;
    entries = [{ ok: false, diagnostic: { code: CODES.entryUnreadable, severity: 'error', message: err.message, pointer: '' }, raw: source, requestKey: '' }];
  }
  const fallback = 'h' + hashJson(source);
  return entries.map((entry) => {
    if (entry.ok) {
      if (entry.exchange.request.id === fallback) entry.exchange.request.id = docKey(hit);
      return entry;
    }
    const diagnostic = { ...entry.diagnostic, file, pointer: (entry.diagnostic.pointer ?? '').replace(/^\/0(?=\/|$)/, '') };
    return { ...entry, diagnostic, requestKey: `elasticsearch:${docKey(hit)}` };
  });
}
