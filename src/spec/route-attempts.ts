import type { RouteAttempt } from './types.js';

/**
 * One line telling what route matching tried for an exchange, so that a user sees the fix at a glance:
 * `/v3/books (client) → not under base path /v2 ; /books (upstream, base path /v2 taken as stripped) → no operation`.
 */
export function describeAttempts(method: string, attempts: readonly RouteAttempt[]): string {
  return attempts.map((a) => `${method.toUpperCase()} ${a.path} (${label(a)}) → ${outcome(a)}`).join(' ; ');
}

function label(a: RouteAttempt): string {
  const kind = a.kind === 'route' ? 'client path without the gateway route prefix' : a.kind;
  if (a.basePaths.length === 0 || (!a.result.found && a.result.reason === 'no-base-path')) return kind;
  return a.withBase ? `${kind}, under base path ${a.basePaths.join(' or ')}` : `${kind}, taken as already without base path`;
}

function outcome(a: RouteAttempt): string {
  const r = a.result;
  if (r.found) return `${r.operationId} (${r.template} in ${r.specFile})`;
  switch (r.reason) {
    case 'no-base-path':
      return `not under base path ${a.basePaths.join(' or ')}`;
    case 'excluded':
      return 'an operation of a spec whose x-reflex.match excludes this kind of path';
    case 'other-method':
      return `no operation for this method (the path has ${r.templates!.join(', ')})`;
    case 'no-operation':
      return 'no operation';
  }
}
