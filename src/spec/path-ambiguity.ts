import { CODES } from '../codes.js';
import type { Reporter } from './report.js';
import type { CompiledOperation } from './types.js';

/**
 * With `x-reflex.match: auto`, the path the client called is tried before the one the upstream saw.
 * When one template is another with literal segments in front (`/admin/users`, `/users`), a gateway
 * route that strips those segments makes one request match the first as the client called it and
 * the second as the upstream served it. Say which one reflex takes, and how to choose.
 */
export function checkPathAmbiguity(operations: ReadonlyArray<{ operation: CompiledOperation }>, report: Reporter): void {
  const byShape = new Map<string, CompiledOperation>();
  for (const { operation } of operations) byShape.set(shape(operation.method, operation.path), operation);
  for (const { operation: longer } of operations) {
    const segments = longer.path.split('/').filter((s) => s !== '');
    // Every literal head of the longer template, the shortest first: `/a/b/x` → `/a` + `/b/x`, `/a/b` + `/x`.
    for (let cut = 1; cut < segments.length && !segments[cut - 1]!.includes('{'); cut++) {
      const shorter = byShape.get(shape(longer.method, '/' + segments.slice(cut).join('/')));
      if (!shorter || shorter === longer) continue;
      const prefix = '/' + segments.slice(0, cut).join('/');
      report.warn(
        CODES.clientUpstreamAmbiguity,
        longer.location.pointer,
        `behind a gateway route that strips ${prefix}, a ${longer.method.toUpperCase()} ${longer.path} the client called reaches the service as ${shorter.path}: reflex takes ${longer.id} (the client's path) over ${shorter.id} (the upstream's)`,
        { hint: "If the spec describes the service behind such a route, set x-reflex.match: upstream; x-reflex.match: client keeps this choice and silences the warning." },
      );
      break;
    }
  }
}

/** Parameter names do not matter for matching: `/a/{id}` and `/a/{orderId}` are the same shape. */
function shape(method: string, template: string): string {
  return `${method.toUpperCase()} ${template.replace(/\{[^}]*\}/g, '{}').replace(/\/+$/, '')}`;
}
