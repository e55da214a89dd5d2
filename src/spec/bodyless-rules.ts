import { CODES } from '../codes.js';
import type { Diagnostic } from '../model/diagnostic.js';
import type { CompiledExpression } from '../rules/expression.js';
import { bodiesRead } from './body-reads.js';
import { DEFAULT_DATA } from './compile-operation.js';
import type { CompiledSpecSet } from './types.js';

/** What the check needs of a log format (LogFormat's name and `bodies`). */
export interface FormatBodies {
  name: string;
  bodies?: boolean;
}

/**
 * Rules that read a request or response body, when every source reads a format that never carries
 * bodies (`bodies: false`): such a rule cannot fire as written (`when`), its key fails, or its data
 * is empty. `reflex lint` does not know the sources, so `serve` (config and specs known) and
 * `reflex test --format` run this. A source whose format is not known (a source that takes no
 * `format:`) counts as carrying bodies; no source at all means no warning.
 */
export function bodylessRuleWarnings(specs: CompiledSpecSet, formats: readonly FormatBodies[]): Diagnostic[] {
  if (formats.length === 0 || formats.some((f) => f.bodies !== false)) return [];
  const names = [...new Set(formats.map((f) => f.name))].join(', ');
  const out: Diagnostic[] = [];
  for (const op of specs.operations) {
    for (const rule of op.rules) {
      // The default data (`response.body`) is left out: the event still fires, with no data.
      const parts: Array<[string, CompiledExpression | null]> = [
        ['when', rule.when],
        ['data', rule.data.source === DEFAULT_DATA ? null : rule.data],
        [rule.key ? 'key' : `key (resource ${op.resource?.name ?? ''})`, rule.key ?? op.resource?.key ?? null],
      ];
      const reads = parts.flatMap(([where, e]) => (e ? bodiesRead(e).map((part) => `${part}.body in ${where}`) : []));
      if (reads.length === 0) continue;
      out.push({
        code: CODES.bodyNeverLogged,
        severity: 'warning',
        message: `rule ${rule.type || `#${rule.index}`} of ${op.id} reads ${reads.join(', ')}, but every source reads ${names}, which logs no bodies: the rule cannot fire as written`,
        hint: 'API Gateway access logs hold only $context variables (status, path, method, ids, client); base the rule on those, or send this API\'s traffic through a source that logs bodies.',
        file: rule.location.file,
        pointer: rule.location.pointer,
        ...(rule.location.line !== undefined ? { line: rule.location.line } : {}),
        ...(rule.location.column !== undefined ? { column: rule.location.column } : {}),
      });
    }
  }
  return out;
}
