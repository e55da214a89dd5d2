import { ApiError, errorText, getJson, postJson, type Diagnostic } from '../api.js';
import { fill, h, jsonBlock } from '../dom.js';

interface RuleSource { index: number; type: string; stream: string; when: string; data: string; key: string | null }
interface OperationRules { operationId: string; method: string; path: string; resource: string | null; rules: RuleSource[] }
interface Held { source: string; exchange: { request: { id: string; method: string; path: string }; response: { status: number }; operation: { id: string } | null } }
type Evaluated =
  | { ok: true; operation: { id: string }; when: boolean; event: { type: string; reflexstream: string } | null }
  | { ok: false; error: string; diagnostics: Array<Diagnostic & { field?: string }> };

const FIELDS = ['when', 'data', 'key'] as const;
const PASTE = 'paste';
/** Evaluate once typing pauses this long. */
const DEBOUNCE_MS = 200;

/**
 * Edit a rule's `when`, `data` and `key` against a recent exchange or a pasted log entry, and see
 * the event or the error with its position as you type. reflex compiles and runs the draft
 * (POST /playground/evaluate); nothing is evaluated in the browser.
 */
export async function renderPlayground(main: HTMLElement, _params: string[], signal: AbortSignal): Promise<void> {
  const [{ operations, formats }, recent] = await Promise.all([
    getJson<{ operations: OperationRules[]; formats: string[] }>('/playground/rules', signal),
    getJson<Held[]>('/exchanges/recent?limit=100', signal),
  ]);
  const exchangeSelect = h('select', { id: 'pg-exchange' },
    recent.map((r, i) => h('option', { value: i }, `${r.exchange.request.method} ${r.exchange.request.path} → ${r.exchange.response.status} (${r.exchange.request.id})`)),
    h('option', { value: PASTE }, 'Paste a log entry…'));
  const formatSelect = h('select', { id: 'pg-format' }, formats.map((f) => h('option', { value: f }, f)));
  const log = h('textarea', { id: 'pg-log', rows: 8, spellcheck: false, placeholder: 'one log entry, e.g. a Kong log object' });
  const paste = h('div', { hidden: true }, h('label', { for: 'pg-format' }, 'Format'), formatSelect, h('label', { for: 'pg-log' }, 'Log entry'), log);
  const ruleSelect = h('select', { id: 'pg-rule' }, operations.flatMap((op) => [
    ...op.rules.map((r) => h('option', { value: `${op.operationId}#${r.index}` }, `${op.operationId}: ${r.type} (${op.method} ${op.path})`)),
    h('option', { value: `${op.operationId}#${op.rules.length}` }, `${op.operationId}: a new rule (${op.method} ${op.path})`),
  ]));
  const areas = Object.fromEntries(FIELDS.map((f) => [f, h('textarea', { id: `pg-${f}`, rows: f === 'data' ? 6 : 2, spellcheck: false, 'aria-describedby': `pg-${f}-error` })])) as Record<(typeof FIELDS)[number], HTMLTextAreaElement>;
  const fieldErrors = Object.fromEntries(FIELDS.map((f) => [f, h('p', { id: `pg-${f}-error`, class: 'bad' })])) as unknown as Record<(typeof FIELDS)[number], HTMLElement>;
  const result = h('div', { id: 'pg-result', 'aria-live': 'polite' });
  main.append(h('h1', {}, 'Playground'),
    h('p', {}, 'reflex compiles the rule as serve does and runs it against the exchange; nothing is stored.'),
    h('div', { class: 'columns' },
      h('section', { 'aria-labelledby': 'h-input' }, h('h2', { id: 'h-input' }, 'Exchange and rule'),
        h('label', { for: 'pg-exchange' }, 'Exchange'), exchangeSelect, paste,
        h('label', { for: 'pg-rule' }, 'Rule (operation and event type)'), ruleSelect,
        FIELDS.map((f) => [h('label', { for: `pg-${f}` }, f === 'when' ? 'when (CEL)' : `${f} (JSONata)${f === 'key' ? ', empty: the resource key' : ''}`), areas[f], fieldErrors[f]])),
      h('section', { 'aria-labelledby': 'h-result' }, h('h2', { id: 'h-result' }, 'Result'), result)));

  const ruleOf = (value: string) => {
    const [opId, index] = value.split('#');
    const op = operations.find((o) => o.operationId === opId);
    return { op, index: Number(index), rule: op?.rules[Number(index)] };
  };
  const loadRule = () => {
    const { rule } = ruleOf(ruleSelect.value);
    areas.when.value = rule?.when ?? '';
    areas.data.value = rule?.data ?? '';
    areas.key.value = rule?.key ?? '';
  };
  const pickExchange = () => {
    paste.hidden = exchangeSelect.value !== PASTE;
    const held = recent[Number(exchangeSelect.value)];
    const opId = held?.exchange.operation?.id;
    const first = opId ? operations.find((o) => o.operationId === opId) : undefined;
    if (first) {
      ruleSelect.value = `${first.operationId}#0`;
      loadRule();
    }
  };

  let inFlight: AbortController | null = null;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const evaluate = async () => {
    inFlight?.abort();
    inFlight = new AbortController();
    const { index } = ruleOf(ruleSelect.value);
    const rule = { index, ...Object.fromEntries(FIELDS.map((f) => [f, areas[f].value])) };
    const pasted = exchangeSelect.value === PASTE;
    const held = recent[Number(exchangeSelect.value)]?.exchange;
    const input = pasted ? { log: log.value, format: formatSelect.value } : { exchange: held };
    if (pasted ? log.value.trim() === '' : !held) {
      fill(result, h('p', { class: 'status' }, 'Choose an exchange or paste a log entry.'));
      return;
    }
    let answer: Evaluated;
    try {
      answer = await postJson<Evaluated>('/playground/evaluate', { ...input, rule }, inFlight.signal);
    } catch (err) {
      if ((err as Error).name === 'AbortError') return;
      if (!(err instanceof ApiError) || err.status !== 422) {
        fill(result, h('p', { class: 'bad', role: 'alert' }, errorText(err)));
        return;
      }
      answer = err.body as Evaluated;
    }
    show(answer);
  };
  const show = (answer: Evaluated) => {
    for (const f of FIELDS) {
      areas[f].removeAttribute('aria-invalid');
      fieldErrors[f].textContent = '';
    }
    if (answer.ok) {
      fill(result, answer.event
        ? [h('p', { class: 'ok', id: 'pg-verdict' }, `when is true: ${answer.operation.id} would write this ${answer.event.type} to stream ${answer.event.reflexstream}`), jsonBlock(answer.event, 'the event')]
        : h('p', { class: 'warn', id: 'pg-verdict' }, 'when is false: no event for this exchange'));
      return;
    }
    for (const d of answer.diagnostics) {
      const field = d.field as (typeof FIELDS)[number] | undefined;
      if (!field || !areas[field]) continue;
      areas[field].setAttribute('aria-invalid', 'true');
      fieldErrors[field].textContent = `line ${d.line}, column ${d.column}: ${d.message}`;
    }
    fill(result, h('p', { class: 'bad', id: 'pg-verdict' }, answer.error),
      h('ul', { class: 'error-list', id: 'pg-errors' }, answer.diagnostics.map((d) => h('li', {},
        h('span', { class: 'where' }, d.field ? `${d.field} ${d.line}:${d.column}` : `${d.file ?? ''}${d.line !== undefined ? `:${d.line}:${d.column ?? 1}` : ''}`), ` ${d.code}: ${d.message}`))));
  };
  const soon = () => {
    clearTimeout(timer);
    timer = setTimeout(() => void evaluate(), DEBOUNCE_MS);
  };
  for (const el of [...Object.values(areas), log]) el.addEventListener('input', soon);
  exchangeSelect.addEventListener('change', () => (pickExchange(), soon()));
  formatSelect.addEventListener('change', soon);
  ruleSelect.addEventListener('change', () => (loadRule(), soon()));
  signal.addEventListener('abort', () => (clearTimeout(timer), inFlight?.abort()));
  if (recent.length === 0) exchangeSelect.value = PASTE;
  pickExchange();
  if (!recent[0]) loadRule();
  await evaluate();
}
