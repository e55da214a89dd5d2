import { ApiError, errorText, getJson, type StreamRecord, type StreamSummary } from '../api.js';
import { fill, h, jsonBlock, statusLine, table, time } from '../dom.js';
import { diffRows } from '../json-diff.js';

interface ResourceSummary { name: string; keys: number; deleted: number; late: number; skipped: number; pending: number }
interface ChangeRecord { op: string; key: string; before: unknown; after: unknown; changed?: string[]; ts_ms: number; source?: { operationId?: string; requestId?: string } }

/** How far back in a changelog the history of one key is looked for (the API pages by offset, not by key). */
const HISTORY_SCAN = 5000;

/** Resources with CDC: look a key up, see its state and every change to it, with what changed. */
export async function renderResources(main: HTMLElement, params: string[], signal: AbortSignal): Promise<void> {
  const resources = await getJson<ResourceSummary[]>('/resources', signal);
  const result = h('div', { id: 'resource-result' });
  const status = statusLine();
  const select = h('select', { id: 'resource-name' }, resources.map((r) => h('option', { value: r.name }, r.name)));
  const keyInput = h('input', { id: 'resource-key', type: 'text', required: true, autocomplete: 'off', value: params[1] ?? '' });
  if (params[0]) select.value = params[0];
  const form = h('form', { class: 'row', onsubmit: (e: Event) => {
    e.preventDefault();
    location.hash = `#/resources/${encodeURIComponent(select.value)}/${encodeURIComponent(keyInput.value.trim())}`;
  } },
  h('div', {}, h('label', { for: 'resource-name' }, 'Resource'), select),
  h('div', {}, h('label', { for: 'resource-key' }, 'Key'), keyInput),
  h('div', {}, h('button', { type: 'submit' }, 'Look up')));
  main.append(h('h1', {}, 'Resources'),
    table('Resources with change data capture', ['resource', 'keys', 'deleted', 'late', 'skipped', 'pending'], resources.map((r) => [r.name, r.keys, r.deleted, r.late, r.skipped, r.pending])),
    h('h2', {}, 'Look a key up'), form, status, result);
  if (params[0] && params[1]) await showKey(result, status, params[0], params[1], signal);
}

async function showKey(result: HTMLElement, status: HTMLElement, name: string, key: string, signal: AbortSignal): Promise<void> {
  const state = h('section', { class: 'panel', 'aria-labelledby': 'h-state' });
  const history = h('section', { class: 'panel', 'aria-labelledby': 'h-history' });
  fill(result, state, history);
  try {
    const current = await getJson<{ key: string; state: unknown; version: number; time: string }>(`/resources/${encodeURIComponent(name)}/${key.split('/').map(encodeURIComponent).join('/')}`, signal);
    fill(state, h('h2', { id: 'h-state' }, `${name}/${key}: version ${current.version}, ${time(current.time)}`), jsonBlock(current.state, `state of ${name}/${key}`));
  } catch (err) {
    fill(state, h('h2', { id: 'h-state' }, `${name}/${key}`), h('p', { class: err instanceof ApiError && err.status === 404 ? 'warn' : 'bad' }, errorText(err)));
  }
  const changes = await historyOf(`${name}.changelog`, key, signal);
  status.textContent = `${changes.length} change${changes.length === 1 ? '' : 's'} of ${name}/${key} in the last ${HISTORY_SCAN} change records`;
  fill(history, h('h2', { id: 'h-history' }, 'Change history'), changes.length === 0 ? h('p', { class: 'status' }, 'No change records for this key.') : null,
    changes.reverse().map((r) => {
      const c = r.value as unknown as ChangeRecord;
      return h('article', {}, h('h3', {}, `offset ${r.offset}: ${opName(c.op)} at ${time(new Date(c.ts_ms).toISOString())}`, c.source?.operationId ? ` by ${c.source.operationId}` : ''),
        table(`What changed at offset ${r.offset}`, ['pointer', 'before', 'after'], diffRows(c.before, c.after, c.changed).map((d) => [
          h('code', {}, d.pointer || '(the whole state)'), h('code', { class: 'diff-before' }, show(d.before)), h('code', { class: 'diff-after' }, show(d.after)),
        ])));
    }));
}

async function historyOf(stream: string, key: string, signal: AbortSignal): Promise<StreamRecord[]> {
  const summary = (await getJson<StreamSummary[]>('/streams', signal)).find((s) => s.name === stream);
  if (!summary) return [];
  const found: StreamRecord[] = [];
  for (let after = Math.max(0, summary.lastOffset - HISTORY_SCAN); after < summary.lastOffset;) {
    const page = await getJson<StreamRecord[]>(`/streams/${encodeURIComponent(stream)}/events?after=${after}&limit=1000`, signal);
    if (page.length === 0) break;
    found.push(...page.filter((r) => r.key === key));
    after = page[page.length - 1]!.offset;
  }
  return found;
}

const OPS: Record<string, string> = { c: 'created', u: 'updated', d: 'deleted', r: 'read' };
const opName = (op: string) => OPS[op] ?? op;
const show = (v: unknown) => (v === undefined ? '—' : JSON.stringify(v));
