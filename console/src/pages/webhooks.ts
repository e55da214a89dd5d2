import { ApiError, errorText, getJson, postJson } from '../api.js';
import { fill, h, statusLine, table, time } from '../dom.js';

interface Endpoint { id: string; url: string; streams: string[]; enabled: boolean; description?: string | null; disabledReason?: string | null; counts?: Record<string, number> }
interface Attempt { id: number; eventId: string; attempt: number; time: string; statusCode: number | null; latencyMs: number; error: string | null; nextRetryAt: string | null }

/** Webhook endpoints; for one: its deliveries (retry one), its dead letters (retry all), and replay from an offset or time. */
export async function renderWebhooks(main: HTMLElement, params: string[], signal: AbortSignal): Promise<void> {
  const endpoints = await getJson<Endpoint[]>('/webhooks', signal);
  main.append(h('h1', {}, 'Webhooks'), table('Endpoints', ['endpoint', 'streams', 'enabled', 'description'], endpoints.map((e) => [
    h('a', { href: `#/webhooks/${encodeURIComponent(e.id)}` }, e.url), e.streams.join(', '), e.enabled ? 'yes' : `no${e.disabledReason ? ` (${e.disabledReason})` : ''}`, e.description ?? '',
  ])));
  if (endpoints.length === 0) main.append(h('p', { class: 'status' }, 'No endpoints: register one with POST /webhooks or a webhook sink in reflex.yaml.'));
  const id = params[0];
  if (id) await renderEndpoint(main, id, signal);
}

async function renderEndpoint(main: HTMLElement, id: string, signal: AbortSignal): Promise<void> {
  const path = `/webhooks/${encodeURIComponent(id)}`;
  const status = statusLine();
  const header = h('div', {});
  const deliveries = h('div', {});
  const from = h('input', { id: 'replay-from', type: 'text', required: true, placeholder: '0 or 2026-11-02T09:00:00Z' });
  const stream = h('input', { id: 'replay-stream', type: 'text', placeholder: 'all of its streams' });
  const act = async (what: Promise<unknown>, done: string) => {
    try {
      await what;
      status.textContent = done;
    } catch (err) {
      status.textContent = errorText(err);
    }
    await load();
  };
  const load = async () => {
    const [e, attempts] = await Promise.all([getJson<Endpoint>(path, signal), getJson<Attempt[]>(`${path}/deliveries?limit=100`, signal)]);
    fill(header, h('h2', {}, e.url), h('p', {}, Object.entries(e.counts ?? {}).map(([k, v]) => `${k}: ${v}`).join(' · ')));
    fill(deliveries, table('Deliveries, newest first', ['time', 'event', 'attempt', 'status', 'latency', 'error', 'next retry', ''], attempts.map((a) => [
      time(a.time), h('code', {}, a.eventId), a.attempt, a.statusCode === null ? '—' : h('span', { class: a.statusCode < 300 ? 'ok' : 'bad' }, a.statusCode), `${Math.round(a.latencyMs)} ms`, a.error ?? '', time(a.nextRetryAt),
      h('button', { type: 'button', class: 'secondary', 'aria-label': `Send event ${a.eventId} again`, onclick: () => void act(postJson(`${path}/deliveries/${encodeURIComponent(a.eventId)}/retry`, undefined, signal), `event ${a.eventId} queued again`) }, 'Retry'),
    ])));
  };
  const replay = h('form', { class: 'row', onsubmit: (ev: Event) => {
    ev.preventDefault();
    const query = new URLSearchParams({ from: from.value.trim(), ...(stream.value.trim() ? { stream: stream.value.trim() } : {}) });
    void act(postJson(`${path}/replay?${query}`, undefined, signal), `replay queued from ${from.value.trim()}`);
  } },
  h('div', {}, h('label', { for: 'replay-from' }, 'Replay from (offset or time)'), from),
  h('div', {}, h('label', { for: 'replay-stream' }, 'Stream'), stream),
  h('div', {}, h('button', { type: 'submit' }, 'Replay')));
  main.append(h('section', { class: 'panel' }, header,
    h('div', { class: 'row' }, h('button', { type: 'button', onclick: () => void act(postJson(`${path}/dead-letters/retry`, undefined, signal), 'dead letters queued again') }, 'Retry dead letters')),
    h('h3', {}, 'Replay'), replay, status, deliveries));
  try {
    await load();
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) fill(header, h('p', { class: 'bad' }, err.message));
    else throw err;
  }
}
