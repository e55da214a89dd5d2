import { toPointer } from '../model/json-pointer.js';
import { CODES } from '../codes.js';
import type { Located } from './locate.js';
import type { Reporter } from './report.js';
import type { ResourceDecl } from './resources.js';
import type { CompiledOperation, StreamInfo } from './types.js';

/** A CDC resource's change records go to the stream `<resource>.changelog`. */
export const CHANGELOG_SUFFIX = '.changelog';

/** A stream and where the spec brings it into being (for clash messages). */
export interface DeclaredStream {
  info: StreamInfo;
  at: Located;
}

/**
 * The streams one spec file produces: per resource its events stream (when some event goes
 * there) and `<name>.changelog` (when cdc is on), then any other stream events name.
 */
export function specStreams(
  specFile: string,
  operations: readonly CompiledOperation[],
  resources: ReadonlyMap<string, ResourceDecl>,
  report: Reporter,
): DeclaredStream[] {
  const changelogs = new Map<string, ResourceDecl>();
  for (const r of resources.values()) if (r.cdc) changelogs.set(`${r.name}${CHANGELOG_SUFFIX}`, r);

  const targeted = new Map<string, DeclaredStream>();
  for (const op of operations) {
    for (const rule of op.rules) {
      const explicit = rule.stream !== (op.resource?.name ?? 'events');
      // Pointers into the dereferenced document (rule.location holds the in-file one).
      const rulePointer = toPointer(['paths', op.path, op.method.toLowerCase(), 'x-reflex-events', rule.index]);
      const pointer = `${rulePointer}/stream`;
      const owner = changelogs.get(rule.stream);
      if (owner) {
        report.error(CODES.changelogStream, explicit ? pointer : rulePointer, `events cannot be written to '${rule.stream}': it is the changelog of resource '${owner.name}'`, {
          hint: 'Change records go there automatically; pick another stream name for the events.',
        });
        continue;
      }
      if (targeted.has(rule.stream)) continue;
      const decl = resources.get(rule.stream);
      // Where the stream comes from: the explicit `stream:`, the resource, or the first rule using `events`.
      const at = explicit
        ? report.sources.locate(pointer)
        : decl
          ? report.sources.locate(decl.pointer, { key: true })
          : report.sources.locate(rulePointer);
      targeted.set(rule.stream, { info: { name: rule.stream, kind: 'events', resource: decl?.name ?? null, specFile }, at });
    }
  }

  const out: DeclaredStream[] = [];
  for (const r of resources.values()) {
    const events = targeted.get(r.name);
    if (events) {
      out.push(events);
      targeted.delete(r.name);
    }
    if (r.cdc) {
      out.push({
        info: { name: `${r.name}${CHANGELOG_SUFFIX}`, kind: 'changelog', resource: r.name, specFile },
        at: report.sources.locate(r.pointer, { key: true }),
      });
    }
  }
  out.push(...targeted.values());
  return out;
}
