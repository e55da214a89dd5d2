import type { Exchange } from '../model/exchange.js';
import { isPromise } from '../rules/expression.js';
import type { RuleLimits } from '../rules/budget.js';
import { describeAttempts } from '../spec/route-attempts.js';
import type { CompiledSpecSet } from '../spec/types.js';
import { formatKey } from '../pipeline/keys.js';
import { requestPaths } from '../pipeline/process.js';
import { redact } from '../pipeline/redact.js';
import type { Outcome } from '../pipeline/process.js';

export type Routed = { kind: 'routed'; key: string | null } | Extract<Outcome, { kind: 'unmatched' }>;

/**
 * The stateless half of cluster mode, run where the log arrived: redaction, route matching and the
 * resource key, which picks the partition (and so the one instance that runs dedupe, the rules and
 * CDC for that key). `key` is null when the operation has no resource or its key cannot be computed
 * here; the entry is then keyed by its request key, and the owner reports any rule failure itself.
 */
export function routeExchange(exchange: Exchange, specs: CompiledSpecSet, limits: RuleLimits): Routed | Promise<Routed> {
  redact(exchange, specs.redact);
  const paths = requestPaths(exchange);
  const match = specs.router.route(paths);
  if (!match) {
    const g = exchange.gateway;
    return { kind: 'unmatched', label: `${g.kind}/${g.route ?? g.service ?? '-'}`, hint: describeAttempts(paths.method, specs.router.explain(paths)) };
  }
  const op = match.operation;
  exchange.request.route = op.path;
  exchange.request.params = match.params;
  exchange.operation = { id: op.id, method: op.method, path: op.path };
  const expr = op.resource?.key;
  if (!expr) return { kind: 'routed', key: null };
  try {
    const value = expr.evaluate(exchange, limits);
    if (isPromise(value)) return value.then((v) => routed(v), () => ({ kind: 'routed', key: null }));
    return routed(value);
  } catch {
    return { kind: 'routed', key: null };
  }
}

function routed(value: unknown): Routed {
  try {
    return { kind: 'routed', key: formatKey(value) };
  } catch {
    return { kind: 'routed', key: null };
  }
}
