import { escapePointerToken } from '../../../src/sdk/index.js';

/** One field found in a document: its value, where it sits (JSON pointer) and its parent, for exact pointers below it. */
export interface Found {
  value: unknown;
  pointer: string;
  parentPointer: string;
  key: string;
}

/**
 * The fields of an ECS document by their flat names (`http.request.method`), whichever way the
 * shipper stored them: nested objects (`{"http":{"request":{"method":…}}}`, as Elasticsearch
 * keeps what Filebeat sends), flattened dotted keys (`{"http.request.method":…}`, app loggers,
 * Packetbeat's golden files) or any mix (`{"http":{"request.method":…}}`).
 *
 * The walk is a loop over a stack, and it only enters objects whose name is a prefix of a wanted
 * field, so a document's depth or size elsewhere costs nothing and cannot overflow anything. A
 * document that spells one field twice gets one of them, not a promised one. Every name under a
 * `groups` entry is kept as well (`http.request.headers.content-type`), one level down: header values are
 * scalars or lists.
 */
export class EcsFields {
  private readonly found = new Map<string, Found>();

  constructor(doc: Record<string, unknown>, private readonly basePointer: string, wanted: FieldNames) {
    const stack: Array<{ obj: Record<string, unknown>; name: string; pointer: string }> = [{ obj: doc, name: '', pointer: basePointer }];
    for (let top = stack.pop(); top; top = stack.pop()) {
      for (const key of Object.keys(top.obj)) {
        const name = top.name === '' ? key : `${top.name}.${key}`;
        const value = top.obj[key];
        const pointer = `${top.pointer}/${escapePointerToken(key)}`;
        if ((wanted.fields.has(name) || wanted.inGroup(name)) && !this.found.has(name)) this.found.set(name, { value, pointer, parentPointer: top.pointer, key });
        if (wanted.prefixes.has(name) && value !== null && typeof value === 'object' && !Array.isArray(value)) {
          stack.push({ obj: value as Record<string, unknown>, name, pointer });
        }
      }
    }
  }

  get(name: string): Found | undefined {
    return this.found.get(name);
  }

  /** Where a field that is absent belongs, in the nested spelling: `/http/response/status_code`. */
  pointerFor(name: string): string {
    return this.basePointer + '/' + name.split('.').map(escapePointerToken).join('/');
  }

  /** The fields named `<group>.<name>`, by `<name>` (the shipper's header name, as it logged it). */
  group(group: string): Array<[string, Found]> {
    const out: Array<[string, Found]> = [];
    const start = group + '.';
    for (const [name, found] of this.found) if (name.startsWith(start)) out.push([name.slice(start.length), found]);
    return out;
  }
}

/** The names a reader wants, with every dotted prefix of them precomputed (the objects worth entering). */
export class FieldNames {
  readonly fields: ReadonlySet<string>;
  readonly prefixes: ReadonlySet<string>;
  private readonly groups: readonly string[];

  constructor(fields: readonly string[], groups: readonly string[]) {
    this.fields = new Set(fields);
    this.groups = groups.map((g) => g + '.');
    const prefixes = new Set<string>(groups);
    for (const name of [...fields, ...groups]) {
      for (let dot = name.indexOf('.'); dot !== -1; dot = name.indexOf('.', dot + 1)) prefixes.add(name.slice(0, dot));
    }
    this.prefixes = prefixes;
  }

  /** `http.request.headers.x-a` is in group `http.request.headers`; a name below a header is not entered. */
  inGroup(name: string): boolean {
    return this.groups.some((g) => name.startsWith(g));
  }
}
