import type { Exchange } from '../model/exchange.js';
import { formatDiagnostic } from '../model/diagnostic.js';
import type { DecodedEntry } from '../sources/types.js';
import { isPromise, type CompiledExpression } from '../rules/expression.js';
import { cdcIntentOf } from '../cdc/intent.js';
import { redact } from '../pipeline/redact.js';
import { requestPaths } from '../pipeline/process.js';
import { describeAttempts } from '../spec/route-attempts.js';
import type { CompiledSpecSet, SourceLocation } from '../spec/types.js';

/**
 * `reflex test --explain <request id>`: for one log entry, what each step made of it (paths tried,
 * operation, each rule's `when`, `data` and `key`, the change it means for its resource), so that a
 * user sees why an event did or did not appear. Nothing is stored.
 */
export async function explainEntries(entries: DecodedEntry[], requestId: string, specs: CompiledSpecSet, out: (line: string) => void): Promise<boolean> {
  const chosen = entries.filter((e) => (e.ok ? e.exchange.request.id === requestId : e.requestKey.endsWith(requestId)));
  if (chosen.length === 0) return false;
  for (const entry of chosen) {
    if (!entry.ok) {
      out(`entry ${requestId}: cannot be read, so it would be a dead letter`);
      out(`  ${formatDiagnostic(entry.diagnostic)}`);
      continue;
    }
    await explainExchange(entry.exchange, specs, out);
  }
  return true;
}

async function explainExchange(ex: Exchange, specs: CompiledSpecSet, out: (line: string) => void): Promise<void> {
  redact(ex, specs.redact);
  const r = ex.request;
  const upstream = r.upstreamPath && r.upstreamPath !== r.path ? `, upstream ${r.upstreamPath}` : '';
  out(`request ${r.id}: ${r.method} ${r.path}${upstream} at ${r.time}, ${ex.gateway.kind} route ${ex.gateway.route ?? '-'} → status ${ex.response.status}`);
  const paths = requestPaths(ex);
  const attempts = specs.router.explain(paths);
  out('paths tried:');
  for (const line of describeAttempts(paths.method, attempts).split(' ; ')) out(`  ${line}`);
  const match = specs.router.route(paths);
  if (!match) {
    out('no operation matched: the exchange is counted as unmatched and makes no event');
    return;
  }
  const op = match.operation;
  ex.request.route = op.path;
  ex.request.params = match.params;
  ex.operation = { id: op.id, method: op.method, path: op.path };
  out(`operation: ${op.id} (${op.method.toUpperCase()} ${op.path}) params ${JSON.stringify(match.params)}`);
  if (op.rules.length === 0) out('rules: none (x-reflex-events is empty or absent)');
  for (const rule of op.rules) {
    out(`rule ${rule.index} ${rule.type} → stream ${rule.stream} (${where(rule.location)})`);
    const when = await evaluate(rule.when, ex);
    out(`  when ${rule.when.source}  ${show(when)}`);
    if (!when.ok || when.value !== true) {
      out(when.ok ? '  → no event' : '  → dead letter');
      continue;
    }
    const data = await evaluate(rule.data, ex);
    out(`  data ${show(data)}`);
    const keyExpr = rule.key ?? op.resource?.key ?? null;
    if (keyExpr) out(`  key  ${show(await evaluate(keyExpr, ex))}`);
    out(data.ok ? '  → event' : '  → dead letter');
  }
  if (op.resource?.cdc) {
    try {
      const intent = await cdcIntentOf(ex, op);
      out(intent
        ? `change: ${op.resource.name}/${intent.key} op ${intent.op}${intent.after !== undefined ? ` after ${JSON.stringify(intent.after)}` : ''}${intent.patch ? ` patch (${intent.patch.format}) ${JSON.stringify(intent.patch.document)}` : ''}`
        : `change: none for resource ${op.resource.name} (x-reflex-cdc op ${op.cdc.op}, or its when is false)`);
    } catch (err) {
      out(`change: fails: ${(err as Error).message} → dead letter`);
    }
  }
}

type Evaluated = { ok: true; value: unknown } | { ok: false; error: string };

async function evaluate(expr: CompiledExpression, ex: Exchange): Promise<Evaluated> {
  try {
    const v = expr.evaluate(ex);
    return { ok: true, value: isPromise(v) ? await v : v };
  } catch (err) {
    return { ok: false, error: String((err as Error)?.message ?? err).split('\n')[0]! };
  }
}

function show(e: Evaluated): string {
  return e.ok ? `= ${JSON.stringify(e.value) ?? 'undefined'}` : `failed: ${e.error}`;
}

function where(loc: SourceLocation): string {
  return loc.line !== undefined ? `${loc.file}:${loc.line}:${loc.column ?? 1}` : `${loc.file}#${loc.pointer}`;
}
