import type { Diagnostic } from '../model/diagnostic.js';
import type { Exchange } from '../model/exchange.js';
import type { CloudEvent } from '../model/records.js';
import type { RuleLimits } from '../rules/budget.js';
import { compileDraftRule, type DraftDiagnostic, type DraftRule } from '../spec/draft-rule.js';
import { describeAttempts } from '../spec/route-attempts.js';
import type { CompiledSpecSet } from '../spec/types.js';
import { internalFailure } from './entry-outcome.js';
import { requestKeyOf } from './ingest.js';
import { applyOperation, matchExchange, requestPaths, type Outcome } from './process.js';

export type PlaygroundResult =
  | { ok: true; operation: { id: string; method: string; path: string }; exchange: Exchange; when: boolean; event: CloudEvent | null }
  | { ok: false; error: string; diagnostics: Array<DraftDiagnostic | Diagnostic>; exchange?: Exchange };

/**
 * Runs a draft of one rule against one exchange the way `serve` would: redaction and route matching
 * of the loaded specs, the draft compiled by the spec loader's compilers, evaluated by the pipeline's
 * own rule runner (in place of the matched operation's rule `index`; its CDC left out). Nothing is stored.
 */
export async function evaluateDraft(
  exchange: Exchange, specs: CompiledSpecSet, draft: DraftRule, index: number, limits: RuleLimits,
): Promise<PlaygroundResult> {
  const match = matchExchange(exchange, specs);
  if (!match) {
    const paths = requestPaths(exchange);
    const hint = describeAttempts(paths.method, specs.router.explain(paths));
    return { ok: false, error: `${exchange.request.method} ${exchange.request.path} matches no operation of the loaded specs: ${hint}`, diagnostics: [], exchange };
  }
  const op = match.operation;
  const compiled = compileDraftRule(draft, op, index);
  if (!compiled.rule) return { ok: false, error: 'the draft does not compile', diagnostics: compiled.diagnostics, exchange };
  let outcome: Outcome;
  try {
    outcome = await applyOperation(exchange, { ...op, rules: [compiled.rule], cdc: { ...op.cdc, op: 'none' } }, requestKeyOf(exchange), limits);
  } catch (err) {
    outcome = internalFailure(err);
  }
  if (outcome.kind === 'failed') return { ok: false, error: outcome.diagnostic.message, diagnostics: [outcome.diagnostic], exchange };
  const record = outcome.kind === 'records' ? outcome.records[0] : undefined;
  const event = record ? (record.value as CloudEvent) : null;
  return { ok: true, operation: { id: op.id, method: op.method, path: op.path }, exchange, when: event !== null, event };
}
