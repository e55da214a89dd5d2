/**
 * Suggests an OpenAPI path template for paths that matched no operation: segments that look like
 * identifiers (numbers, UUIDs, long hex, words with digits such as ord_5001) become parameters
 * named after the segment before them (/orders/123 -> /orders/{orderId}), and paths that differ
 * only there share one template (/orders/123 and /orders/456 -> /orders/{orderId}).
 */
const ID_PATTERNS = [
  /^\d+$/,
  /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i,
  /^[0-9a-f]{12,}$/i,
  /^(?=.*\d)[A-Za-z0-9]+[-_.~][A-Za-z0-9._~-]*$/,
  /^(?=.*\d)(?=.*[A-Za-z])[A-Za-z0-9]{6,}$/,
];

export function isIdentifier(segment: string): boolean {
  return ID_PATTERNS.some((p) => p.test(segment));
}

export function suggestTemplate(path: string): string {
  const segments = path.split('?')[0]!.split('/');
  const used = new Set<string>();
  return segments.map((segment, i) => {
    if (i === 0 || segment === '' || !isIdentifier(decodeSegment(segment))) return segment;
    let name = paramName(segments[i - 1] ?? '');
    for (let n = 2; used.has(name); n++) name = `${paramName(segments[i - 1] ?? '')}${n}`;
    used.add(name);
    return `{${name}}`;
  }).join('/');
}

/** `orders` -> `orderId`, `categories` -> `categoryId`, `v1` or nothing -> `id`. */
function paramName(previous: string): string {
  const word = previous.toLowerCase().replace(/[^a-z0-9]+(.)/g, (_m, c: string) => c.toUpperCase());
  if (word === '' || /^[{]|\d/.test(word) || isIdentifier(previous)) return 'id';
  const singular = word.endsWith('ies') ? `${word.slice(0, -3)}y` : word.endsWith('sses') ? word.slice(0, -2) : word.endsWith('s') && !word.endsWith('ss') ? word.slice(0, -1) : word;
  return `${singular}Id`;
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

export interface TemplateGroup<T> {
  method: string;
  template: string;
  items: T[];
}

/** Groups rows by method and suggested template, most seen first. */
export function groupByTemplate<T extends { count: number }>(rows: T[], method: (r: T) => string, path: (r: T) => string): Array<TemplateGroup<T>> {
  const groups = new Map<string, TemplateGroup<T>>();
  for (const row of rows) {
    const template = suggestTemplate(path(row));
    const key = `${method(row)} ${template}`;
    const group = groups.get(key) ?? { method: method(row), template, items: [] };
    group.items.push(row);
    groups.set(key, group);
  }
  const total = (g: TemplateGroup<T>) => g.items.reduce((n, r) => n + r.count, 0);
  return [...groups.values()].sort((a, b) => total(b) - total(a));
}
