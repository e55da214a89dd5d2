import { getJson } from '../api.js';
import { h, table, time } from '../dom.js';
import { groupByTemplate } from '../path-template.js';

interface Unmatched { label: string; count: number; lastMethod: string; lastPath: string; lastSeen: string; hint: string | null }

/** Gateway routes whose exchanges matched no operation, grouped under the OpenAPI path a spec would need for them. */
export async function renderUnmatched(main: HTMLElement, _params: string[], signal: AbortSignal): Promise<void> {
  const rows = await getJson<Unmatched[]>('/unmatched', signal);
  const groups = groupByTemplate(rows, (r) => r.lastMethod, (r) => r.lastPath);
  main.append(h('h1', {}, 'Unmatched'),
    h('p', {}, 'Exchanges that matched no operation of the loaded specs, counted per gateway route. The suggested path is what a spec could add to match them (identifiers become parameters).'),
    table('Suggested operations', ['suggested path', 'gateway routes', 'exchanges'], groups.map((g) => [
      h('code', { class: 'suggested' }, `${g.method.toLowerCase()} ${g.template}`), g.items.map((r) => r.label).join(', '), g.items.reduce((n, r) => n + r.count, 0),
    ])),
    table('Per gateway route', ['gateway route', 'exchanges', 'last request', 'last seen', 'what was tried'], rows.map((r) => [
      r.label, r.count, h('code', {}, `${r.lastMethod} ${r.lastPath}`), time(r.lastSeen), r.hint ? h('details', {}, h('summary', {}, 'paths tried'), h('p', {}, r.hint)) : '',
    ])));
}
