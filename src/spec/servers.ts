import { isObject, type Obj } from './doc.js';

/** A server URL with its variables replaced by their defaults. */
export function serverUrl(server: unknown): string | undefined {
  if (!isObject(server) || typeof server.url !== 'string') return undefined;
  const vars = isObject(server.variables) ? server.variables : {};
  return server.url.replace(/\{([^}]+)\}/g, (_, name: string) => {
    const v = vars[name];
    return isObject(v) && v.default !== undefined ? String(v.default) : '';
  });
}

/**
 * Base paths requests carry before the spec's path templates: the path part of each server URL
 * (`https://api.example/v1` -> `/v1`). The most specific `servers` list applies (operation,
 * then path item, then document), as OpenAPI says. '' means no prefix.
 */
export function basePaths(api: Obj, pathItem: Obj, operation: Obj): string[] {
  const servers = [operation.servers, pathItem.servers, api.servers].find((s) => Array.isArray(s) && s.length > 0) as unknown[] | undefined;
  if (!servers) return [''];
  const out = new Set<string>();
  for (const s of servers) {
    const url = serverUrl(s);
    if (url !== undefined) out.add(pathOf(url));
  }
  return out.size > 0 ? [...out] : [''];
}

function pathOf(url: string): string {
  let path: string;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url) || url.startsWith('//')) {
    try {
      path = new URL(url.startsWith('//') ? `http:${url}` : url).pathname;
    } catch {
      path = '/';
    }
  } else {
    path = url.split(/[?#]/)[0]!;
  }
  const trimmed = path.replace(/\/+$/, '');
  return trimmed === '' ? '' : trimmed.startsWith('/') ? trimmed : `/${trimmed}`;
}

/** CloudEvents `source` when `x-reflex.source` is not given: the first server URL, else a URN from the title. */
export function defaultSource(api: Obj): string {
  const first = Array.isArray(api.servers) ? serverUrl(api.servers[0]) : undefined;
  if (first) return first;
  const title = isObject(api.info) && typeof api.info.title === 'string' ? api.info.title : '';
  return `urn:reflex:${slug(title)}`;
}

export function slug(text: string): string {
  const s = text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return s || 'api';
}
