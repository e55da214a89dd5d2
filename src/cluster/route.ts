import type { Exchange } from '../model/exchange.js';
import { isPromise } from '../rules/expression.js';
import type { RuleLimits } from '../rules/budget.js';
import type { CompiledSpecSet } from '../spec/types.js';
import { formatKey } from '../pipeline/keys.js';
import { matchExchange, unmatched, type Outcome } from '../pipeline/process.js';

export type Routed = { kind: 'routed'; key: string | null } | Extract<Outcome, { kind: 'unmatched' }>;

/**
 * The stateless half of cluster mode, run where the log arrived: redaction, route matching and the
 * resource key, which picks the partition (and so the one instance that runs dedupe, the rules and
 * CDC for that key). `key` is null when the operation has no resource or its key cannot be computed
 * here; the entry is then keyed by its request key, and the owner reports any rule failure itself.
 */
export function routeExchange(exchange: Exchange, specs: CompiledSpecSet, limits: RuleLimits): Routed | Promise<Routed> {
  const match = matchExchange(exchange, specs);
  if (!match) return unmatched(exchange, specs);
  const op = match.operation;
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
