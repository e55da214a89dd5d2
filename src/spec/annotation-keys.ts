import { toPointer } from '../model/json-pointer.js';
import { CODES } from '../codes.js';
import { HTTP_METHODS, isObject } from './doc.js';
import type { Reporter } from './report.js';
import { closest } from './suggest.js';

type Place = 'root' | 'pathItem' | 'operation' | 'elsewhere';

const ANNOTATIONS: Record<string, Place[]> = {
  'x-reflex': ['root'],
  'x-reflex-resource': ['pathItem', 'operation'],
  'x-reflex-events': ['operation'],
  'x-reflex-cdc': ['operation'],
};

const WHERE: Record<string, string> = {
  'x-reflex': 'at the top level of the document',
  'x-reflex-resource': 'on a path item under /paths or on one of its operations',
  'x-reflex-events': 'on an operation under /paths (get, post, ...)',
  'x-reflex-cdc': 'on an operation under /paths (get, post, ...)',
};

/** Values that are data, not structure: a key there is the user's, not an annotation. */
const DATA_KEYS = new Set(['example', 'examples', 'default', 'const', 'enum']);

/**
 * Finds every key starting with `x-reflex` that reflex would silently ignore: typos
 * (`x-reflex-event`) and real annotations in a place where they are not read.
 */
export function checkAnnotationKeys(api: Record<string, unknown>, report: Reporter): void {
  const seen = new Set<object>();
  // /paths first: a path item shared with components must be judged where it is used.
  if (isObject(api.paths)) {
    for (const [path, item] of Object.entries(api.paths)) {
      if (path.startsWith('x-reflex')) checkKey(path, ['paths', path], 'elsewhere', report);
      else scan(item, ['paths', path], path.startsWith('/') ? 'pathItem' : 'elsewhere', seen, report);
    }
    seen.add(api.paths);
  }
  scanKeys(api, [], 'root', seen, report, (key) => key === 'paths');
}

function scan(node: unknown, tokens: string[], place: Place, seen: Set<object>, report: Reporter): void {
  if (typeof node !== 'object' || node === null || seen.has(node)) return;
  seen.add(node);
  if (Array.isArray(node)) {
    node.forEach((item, i) => scan(item, [...tokens, String(i)], 'elsewhere', seen, report));
    return;
  }
  scanKeys(node as Record<string, unknown>, tokens, place, seen, report, () => false);
}

function scanKeys(
  node: Record<string, unknown>,
  tokens: string[],
  place: Place,
  seen: Set<object>,
  report: Reporter,
  skip: (key: string) => boolean,
): void {
  seen.add(node);
  const namesOnly = tokens[tokens.length - 1] === 'properties';
  for (const [key, value] of Object.entries(node)) {
    if (skip(key)) continue;
    const here = [...tokens, key];
    if (key.startsWith('x-reflex') && !namesOnly) {
      checkKey(key, here, place, report);
      continue; // the annotation's content is the schema check's job
    }
    if (DATA_KEYS.has(key) && !namesOnly) continue;
    const childPlace: Place =
      place === 'pathItem' && (HTTP_METHODS as readonly string[]).includes(key) ? 'operation' : 'elsewhere';
    scan(value, here, childPlace, seen, report);
  }
}

function checkKey(key: string, tokens: string[], place: Place, report: Reporter): void {
  const pointer = toPointer(tokens);
  const places = ANNOTATIONS[key];
  if (places) {
    if (places.includes(place)) return;
    report.error(CODES.misplacedAnnotation, pointer, `${key} is not read here: reflex reads it ${WHERE[key]}`, { key: true });
    return;
  }
  const allowedHere = Object.keys(ANNOTATIONS).filter((k) => ANNOTATIONS[k]!.includes(place));
  const guess = closest(key, allowedHere) ?? closest(key, Object.keys(ANNOTATIONS));
  report.error(CODES.unknownAnnotation, pointer, `unknown annotation '${key}'`, {
    key: true,
    hint: guess ? `Did you mean '${guess}'?` : `reflex knows ${Object.keys(ANNOTATIONS).join(', ')}.`,
  });
}
