import { ApiError, errorText, getJson, postJson, type DeadLetter, type Diagnostic } from '../api.js';
import { fill, h, jsonBlock, statusLine, time } from '../dom.js';

/** Entries that could not be processed: their diagnostic (file:line:column, JSON pointer), and a retry each or all. */
export async function renderDeadLetters(main: HTMLElement, _params: string[], signal: AbortSignal): Promise<void> {
  const status = statusLine();
  const list = h('div', { id: 'dead-letter-list' });
  const retryAll = h('button', { type: 'button', id: 'retry-all' }, 'Retry all');
  const reload = h('button', { type: 'button', class: 'secondary', id: 'reload-specs' }, 'Reload specs');
  main.append(h('h1', {}, 'Dead letters'),
    h('p', {}, 'A retry processes the entry again with the rules loaded now: fix the spec, then reload the specs (or restart reflex).'),
    h('div', { class: 'row' }, retryAll, reload), status, list);

  const load = async () => {
    const letters = await getJson<DeadLetter[]>('/dead-letters?limit=1000', signal);
    retryAll.disabled = letters.length === 0;
    fill(list, letters.length === 0 ? h('p', { class: 'status', id: 'no-dead-letters' }, 'No dead letters.') : null,
      h('table', {}, h('caption', {}, `${letters.length} dead letter${letters.length === 1 ? '' : 's'}`),
        h('thead', {}, h('tr', {}, ['id', 'time', 'source', 'diagnostic', 'where', ''].map((x) => h('th', { scope: 'col' }, x)))),
        h('tbody', {}, letters.map((dl) => h('tr', { 'data-id': dl.id },
          h('td', {}, dl.id), h('td', {}, time(dl.time)), h('td', {}, dl.source),
          h('td', {}, h('strong', {}, dl.diagnostic.code), ' ', dl.diagnostic.message, h('details', {}, h('summary', {}, 'record'), jsonBlock(dl.record, `record of dead letter ${dl.id}`))),
          h('td', { class: 'where' }, where(dl.diagnostic)),
          h('td', {}, h('button', { type: 'button', 'aria-label': `Retry dead letter ${dl.id}`, onclick: () => void retry([dl.id]) }, 'Retry')))))));
    return letters;
  };

  const retry = async (ids: number[]) => {
    const outcomes: string[] = [];
    for (const id of ids) {
      try {
        const r = await postJson<{ retried: number; records: number }>(`/dead-letters/${id}/retry`, undefined, signal);
        outcomes.push(`dead letter ${r.retried} processed: ${r.records} record${r.records === 1 ? '' : 's'}`);
      } catch (err) {
        const d = err instanceof ApiError ? (err.body as { diagnostic?: Diagnostic }).diagnostic : undefined;
        outcomes.push(`dead letter ${id} failed again${d ? `: ${d.code} ${d.message} at ${where(d)}` : `: ${errorText(err)}`}`);
      }
    }
    status.textContent = outcomes.join('; ');
    await load();
  };
  reload.addEventListener('click', () => void postJson<{ operations: number; warnings: unknown[] }>('/specs/reload', undefined, signal).then(
    (r) => (status.textContent = `specs reloaded: ${r.operations} operations`),
    (err: unknown) => {
      const diagnostics = err instanceof ApiError ? (err.body as { diagnostics?: Diagnostic[] }).diagnostics ?? [] : [];
      status.textContent = `${errorText(err)}${diagnostics.map((d) => `; ${d.code} ${d.message} at ${where(d)}`).join('')}`;
    }));
  retryAll.addEventListener('click', () => void load().then((letters) => retry(letters.map((l) => l.id))));
  await load();
}

/** `file:line:column` and the JSON pointer, as `reflex lint` prints them. */
export function where(d: Diagnostic): string {
  const file = d.file ? `${d.file}${d.line !== undefined ? `:${d.line}:${d.column ?? 1}` : ''}` : '';
  return [file, d.pointer !== undefined ? `at ${d.pointer || '/'}` : ''].filter(Boolean).join(' ');
}
