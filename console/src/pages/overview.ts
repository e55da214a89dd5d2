import { getJson, type StreamSummary } from '../api.js';
import { fill, h, table } from '../dom.js';
import { sparkline } from '../sparkline.js';

interface SourceStatus {
  name: string; type: string; state: string; lagSeconds?: number; positionTime?: string;
  read: { entries: number; bytes?: number; objects?: number; documents?: number };
  remaining?: { objects?: number; bytes?: number; entries?: number };
  lastError?: { code: string; message: string };
}
interface SinkStatus { name: string; backlog: number; maxBacklog: number; state?: string; error?: { message: string } }
interface Endpoint { id: string; url: string; enabled: boolean; streams: string[]; counts?: Record<string, number>; disabledReason?: string | null }

const POLL_MS = 2000;
const SAMPLES = 30;

/** Sources, streams (with rates from the offsets seen while the page is open), sinks and webhook endpoints. */
export async function renderOverview(main: HTMLElement, _params: string[], signal: AbortSignal): Promise<void> {
  const sources = h('section', { class: 'panel', 'aria-labelledby': 'h-sources' });
  const streams = h('section', { class: 'panel', 'aria-labelledby': 'h-streams' });
  const sinks = h('section', { class: 'panel', 'aria-labelledby': 'h-sinks' });
  main.append(h('h1', {}, 'Overview'), sources, streams, sinks);
  const history = new Map<string, Array<{ at: number; last: number }>>();

  const draw = async () => {
    const [src, str, snk, hooks] = await Promise.all([
      getJson<SourceStatus[]>('/sources', signal),
      getJson<StreamSummary[]>('/streams', signal),
      getJson<SinkStatus[]>('/sinks', signal),
      getJson<Endpoint[]>('/webhooks', signal)
        .then((list) => Promise.all(list.map((e) => getJson<Endpoint>(`/webhooks/${encodeURIComponent(e.id)}`, signal))))
        .catch(() => [] as Endpoint[]),
    ]);
    const now = Date.now();
    for (const s of str) {
      const samples = history.get(s.name) ?? [];
      samples.push({ at: now, last: s.lastOffset });
      if (samples.length > SAMPLES + 1) samples.shift();
      history.set(s.name, samples);
    }
    fill(sources, h('h2', { id: 'h-sources' }, 'Sources'), table('Where logs come from', ['source', 'type', 'state', 'progress', 'lag', 'read'], src.map((s) => [
      s.name, s.type, stateBadge(s.state, s.lastError?.message), progressOf(s), s.lagSeconds !== undefined ? `${s.lagSeconds.toFixed(1)} s` : '', readText(s),
    ])));
    fill(streams, h('h2', { id: 'h-streams' }, 'Streams'), table('Records per stream; rates since this page opened', ['stream', 'kind', 'records', 'last offset', 'rate', 'trend'], str.map((s) => {
      const rates = ratesOf(history.get(s.name) ?? []);
      const rate = rates.length > 0 ? rates[rates.length - 1]! : 0;
      return [
        h('a', { href: `#/streams/${encodeURIComponent(s.name)}` }, s.name), s.kind, s.count, s.lastOffset, `${rate.toFixed(1)}/s`,
        sparkline(rates.length > 0 ? rates : [0], `${s.name}: ${rate.toFixed(1)} records per second now, peak ${Math.max(0, ...rates).toFixed(1)}`),
      ];
    })));
    fill(sinks, h('h2', { id: 'h-sinks' }, 'Sinks and webhook endpoints'),
      table('Sinks', ['sink', 'backlog', 'of max', 'health'], snk.map((s) => [s.name, s.backlog, s.maxBacklog, stateBadge(s.state ?? 'ok', s.error?.message)])),
      table('Webhook endpoints', ['endpoint', 'streams', 'pending', 'dead', 'health'], hooks.map((e) => [
        h('a', { href: `#/webhooks/${encodeURIComponent(e.id)}` }, e.url), e.streams.join(', '), e.counts?.pending ?? '', e.counts?.dead ?? '',
        stateBadge(e.enabled ? 'enabled' : 'disabled', e.disabledReason ?? undefined),
      ])));
  };
  await draw();
  const timer = setInterval(() => void draw().catch(() => undefined), POLL_MS);
  signal.addEventListener('abort', () => clearInterval(timer));
}

function ratesOf(samples: Array<{ at: number; last: number }>): number[] {
  const rates: number[] = [];
  for (let i = 1; i < samples.length; i++) {
    const dt = (samples[i]!.at - samples[i - 1]!.at) / 1000;
    rates.push(dt > 0 ? Math.max(0, samples[i]!.last - samples[i - 1]!.last) / dt : 0);
  }
  return rates;
}

function stateBadge(state: string, detail?: string): HTMLElement {
  const good = ['ok', 'running', 'idle', 'enabled'].includes(state);
  const cls = good ? 'ok' : state === 'catching-up' ? 'warn' : 'bad';
  return h('span', { class: cls }, state, detail ? h('span', { class: 'status' }, ` — ${detail}`) : null);
}

/** A backfill's progress: what was read against what is left, in the first unit the source knows both of. */
function progressOf(s: SourceStatus): HTMLElement | string {
  const left = s.remaining;
  if (!left) return '';
  for (const unit of ['bytes', 'objects', 'entries'] as const) {
    const rest = left[unit];
    const done = unit === 'entries' ? s.read.entries : s.read[unit];
    if (rest === undefined || done === undefined) continue;
    const total = done + rest;
    const pct = total > 0 ? Math.round((done / total) * 100) : 100;
    return h('span', {}, h('progress', { max: total || 1, value: done, 'aria-label': `${s.name}: ${pct}% of ${unit} read` }), ` ${pct}%`);
  }
  return '';
}

function readText(s: SourceStatus): string {
  const parts = [`${s.read.entries} entries`];
  if (s.read.objects !== undefined) parts.push(`${s.read.objects} objects`);
  if (s.read.bytes !== undefined) parts.push(`${s.read.bytes} bytes`);
  return parts.join(', ');
}
