import { existsSync, readFileSync } from 'node:fs';
import { parse } from 'yaml';

let document: unknown;

/** reflex describes its own HTTP API (specs/reflex-api.yaml); a test checks it against the routes. */
export function ownApiDocument(): unknown {
  if (document === undefined) {
    // src/server/ when run from source, dist/src/server/ when compiled.
    const file = ['../../specs/reflex-api.yaml', '../../../specs/reflex-api.yaml']
      .map((p) => new URL(p, import.meta.url))
      .find((u) => existsSync(u));
    if (!file) throw new Error('specs/reflex-api.yaml is missing from this installation');
    document = parse(readFileSync(file, 'utf8'));
  }
  return document;
}
