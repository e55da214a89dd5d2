import { ApiError, getJson, tail, type StreamRecord, type StreamSummary } from '../api.js';
import { fill, h, jsonBlock, statusLine, table, time } from '../dom.js';

const PAGE = 50;
/** Rows kept on the page while the tail adds to it. */
const KEEP = 200;

export async function renderStreams(main: HTMLElement, signal: AbortSignal): Promise<void> {
  const streams = await getJson<StreamSummary[]>('/streams', signal);
  main.append(h('h1', {}, 'Streams'), table('Every stream of the event log', ['stream', 'kind', 'records', 'last offset'], streams.map((s) => [
    h('a', { href: `#/streams/${encodeURIComponent(s.name)}` }, s.name), s.kind, s.count, s.lastOffset,
  ])));
}

/** One stream: its latest records, a live tail, and for a chosen record its CloudEvent and the exchange it came from. */
export async function renderStream(main: HTMLElement, name: string, signal: AbortSignal): Promise<void> {
  const streams = await getJson<StreamSummary[]>('/streams', signal);
  const summary = streams.find((s) => s.name === name);
  if (!summary) throw new Error(`no stream named '${name}'`);
  const live = h('span', { class: 'live', id: 'tail-state' }, 'connecting…');
  const announce = statusLine();
  const body = h('tbody', { id: 'records' });
  const detail = h('section', { class: 'panel', 'aria-labelledby': 'h-detail', id: 'record-detail' }, h('h2', { id: 'h-detail' }, 'Record'), h('p', { class: 'status' }, 'Choose a record to see it whole.'));
  main.append(
    h('h1', {}, `Stream ${name}`),
    h('p', {}, `${summary.kind === 'changelog' ? 'Change records' : 'Events'}; live tail: `, live),
    announce,
    h('div', { class: 'columns' },
      h('section', { 'aria-labelledby': 'h-records' }, h('h2', { id: 'h-records' }, 'Latest records'),
        h('table', {}, h('caption', {}, 'Newest first; new records from the tail are highlighted'),
          h('thead', {}, h('tr', {}, ['offset', summary.kind === 'changelog' ? 'op' : 'type', 'subject', 'time'].map((x) => h('th', { scope: 'col' }, x)))),
          body)),
      detail),
  );

  const addRow = (r: StreamRecord, fresh: boolean) => {
    const v = r.value;
    const label = summary.kind === 'changelog' ? String(v.op ?? '') : String(v.type ?? '');
    const button = h('button', { class: 'secondary', type: 'button', 'aria-label': `Show record ${r.offset}`, onclick: () => void showRecord(detail, summary.kind, r, signal) }, String(r.offset));
    const row = h('tr', { class: fresh ? 'fresh' : '', 'data-offset': r.offset }, h('td', {}, button), h('td', {}, label), h('td', {}, r.key ?? ''),
      h('td', {}, time((v.time as string | undefined) ?? (typeof v.ts_ms === 'number' ? new Date(v.ts_ms).toISOString() : null))));
    body.prepend(row);
    while (body.rows.length > KEEP) body.lastElementChild!.remove();
  };

  const after = Math.max(0, summary.lastOffset - PAGE);
  const records = await getJson<StreamRecord[]>(`/streams/${encodeURIComponent(name)}/events?after=${after}&limit=${PAGE}`, signal);
  for (const r of records) addRow(r, false);
  let newest = records.length > 0 ? records[records.length - 1]!.offset : summary.lastOffset;
  let added = 0;
  const stop = tail(name, (offset, value) => {
    if (offset <= newest) return;
    newest = offset;
    addRow({ offset, key: (value as { subject?: string; key?: string }).subject ?? (value as { key?: string }).key ?? null, value: value as Record<string, unknown> }, true);
    announce.textContent = `${++added} new record${added === 1 ? '' : 's'} from the live tail`;
  }, (open) => {
    live.textContent = open ? 'live' : 'reconnecting…';
    live.className = `live ${open ? 'ok' : 'warn'}`;
  });
  signal.addEventListener('abort', stop);
}

async function showRecord(detail: HTMLElement, kind: StreamSummary['kind'], r: StreamRecord, signal: AbortSignal): Promise<void> {
  const v = r.value;
  const requestId = kind === 'changelog' ? (v.source as { requestId?: string } | undefined)?.requestId : (v.reflexrequestid as string | undefined);
  const exchangePart = h('div', {}, h('p', { class: 'status' }, 'Loading the exchange…'));
  fill(detail, h('h2', { id: 'h-detail', tabindex: -1 }, `Record ${r.offset}`),
    h('h3', {}, kind === 'changelog' ? 'Change record' : 'CloudEvent'), jsonBlock(v, `record ${r.offset}`),
    h('h3', {}, 'The exchange it came from (redacted)'), exchangePart);
  (detail.querySelector('h2') as HTMLElement).focus();
  if (!requestId) return fill(exchangePart, h('p', { class: 'status' }, 'This record names no request.'));
  try {
    const held = await getJson<{ source: string; exchange: unknown }>(`/exchanges/${encodeURIComponent(requestId)}`, signal);
    fill(exchangePart, h('p', {}, `From source `, h('code', {}, held.source), `, request `, h('code', {}, requestId)), jsonBlock(held.exchange, `exchange ${requestId}`));
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) fill(exchangePart, h('p', { class: 'status' }, err.message));
    else throw err;
  }
}
