/**
 * reflex's HTTP API as the console uses it: same origin, so the browser sends server.apiAuth's basic
 * credential itself. Errors carry the answer's own message.
 */
export class ApiError extends Error {
  constructor(readonly status: number, readonly body: unknown) {
    super(typeof (body as { error?: unknown })?.error === 'string' ? (body as { error: string }).error : `HTTP ${status}`);
  }
}

/** reflex's root: the folder above /console/ (the same behind a proxy that mounts reflex under a prefix). */
const BASE = new URL('..', document.baseURI).pathname;

export function apiUrl(path: string): string {
  return BASE + path.replace(/^\//, '');
}

async function answer<T>(res: Response): Promise<T> {
  const text = await res.text();
  let body: unknown = text;
  try {
    body = text === '' ? null : JSON.parse(text);
  } catch {
    // not JSON: kept as text
  }
  if (!res.ok) throw new ApiError(res.status, body);
  return body as T;
}

export async function getJson<T>(path: string, signal?: AbortSignal): Promise<T> {
  return answer<T>(await fetch(apiUrl(path), { headers: { accept: 'application/json' }, ...(signal ? { signal } : {}) }));
}

export async function postJson<T>(path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
  const init: RequestInit = { method: 'POST', ...(signal ? { signal } : {}) };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers = { 'content-type': 'application/json' };
  }
  return answer<T>(await fetch(apiUrl(path), init));
}

/** Follows a stream's Server-Sent Events tail (EventSource, which reconnects with Last-Event-ID by itself). */
export function tail(stream: string, onRecord: (offset: number, value: unknown) => void, onState: (open: boolean) => void): () => void {
  const source = new EventSource(apiUrl(`/streams/${encodeURIComponent(stream)}/tail`));
  source.onopen = () => onState(true);
  source.onerror = () => onState(false);
  source.onmessage = (e: MessageEvent<string>) => onRecord(Number(e.lastEventId), JSON.parse(e.data));
  return () => source.close();
}

export interface StreamSummary { name: string; kind: 'events' | 'changelog'; firstOffset: number | null; lastOffset: number; count: number }
export interface StreamRecord { offset: number; key: string | null; value: Record<string, unknown> }
export interface Diagnostic { code: string; severity: string; message: string; file?: string; pointer?: string; line?: number; column?: number; hint?: string }
export interface DeadLetter { id: number; time: string; source: string; requestKey: string; diagnostic: Diagnostic; record: unknown }

/** An error as the pages show it: the API's own message and status. */
export function errorText(err: unknown): string {
  if (err instanceof ApiError) return `${err.message} (HTTP ${err.status})`;
  return (err as Error)?.message ?? String(err);
}
