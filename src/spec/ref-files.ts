import { constants } from 'node:fs';
import { open, realpath } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { keyOfUrl } from './locate.js';
import { CODES } from '../codes.js';
import { defaultConfig } from '../config/types.js';
import { ReflexError } from '../errors.js';

/** What a spec's `$ref`s may read besides the spec's own folder tree. */
export interface RefPolicy {
  /** More folders (absolute paths) and http(s) URL prefixes that `$ref`s may read. */
  allow: string[];
  /** Largest file (or response) a `$ref` may read, the spec itself included. */
  maxBytes: number;
}

/** The `specRefs:` defaults of reflex.yaml's schema, for specs loaded without a config (`reflex lint`, `reflex test`). */
export const DEFAULT_REF_POLICY: RefPolicy = defaultConfig().specRefs;

/** A `$ref` reflex will not follow. `code` lands in the parser error's `ioErrorCode`. */
export class RefusedRef extends ReflexError {
  constructor(message: string) {
    super(CODES.refusedRef, message);
  }
}

type ResolverErrorClass = new (ex: Error, source: string) => Error;
/**
 * The parser keeps a resolver's message only when it throws the parser's own ResolverError (an
 * `instanceof` check), so the class must come from the copy swagger-parser itself loads.
 */
const { ResolverError } = (() => {
  const fromHere = createRequire(import.meta.url);
  return createRequire(fromHere.resolve('@apidevtools/swagger-parser'))('@apidevtools/json-schema-ref-parser') as { ResolverError: ResolverErrorClass };
})();

const HTTP = /^https?:\/\//i;

/**
 * A json-schema-ref-parser resolver that replaces the built-in file and http ones: a `$ref` reads
 * only regular files inside the root spec's folder tree or an allowed folder (symbolic links are
 * followed before the check), never more than `maxBytes`; http(s) only under an allowed URL prefix.
 * A refused `$ref` is never opened, so its content cannot appear in any message.
 */
export function confinedResolver(rootFile: string, policy: RefPolicy) {
  const folders = [dirname(resolve(rootFile)), ...policy.allow.filter((a) => !HTTP.test(a)).map((a) => resolve(a))];
  const prefixes = policy.allow.filter((a) => HTTP.test(a));
  const realFolders = Promise.all(folders.map((f) => realpath(f).catch(() => f)));
  return {
    order: 1,
    canRead: true,
    async read(file: { url: string }): Promise<Buffer> {
      try {
        return await readRef(file.url);
      } catch (err) {
        throw new ResolverError(err as Error, file.url);
      }
    },
  };

  async function readRef(url: string): Promise<Buffer> {
    if (HTTP.test(url)) {
      if (!prefixes.some((p) => url.startsWith(p))) {
        throw new RefusedRef(`${url} is not read: http(s) $refs are refused unless their URL starts with a prefix listed in specRefs.allow (or --allow-refs)`);
      }
      return fetchBounded(url, policy.maxBytes);
    }
    if (/^[a-z][a-z0-9+.-]+:/i.test(url) && !url.startsWith('file:') && !/^[a-z]:[\\/]/i.test(url)) {
      throw new RefusedRef(`${url} is not read: only files and allowed http(s) URLs can be referenced`);
    }
    const path = keyOfUrl(url);
    let real: string;
    try {
      real = await realpath(path);
    } catch (err) {
      // The built-in resolver's wording, which the error report recognises as a missing file.
      const code = (err as NodeJS.ErrnoException).code;
      throw Object.assign(new Error(`Error opening file ${path}: ${code ?? (err as Error).message}`), { code });
    }
    if (!(await realFolders).some((f) => isWithin(f, real))) {
      const where = folders.length > 1 ? `the spec's folder ${folders[0]} and the folders in specRefs.allow` : `the spec's folder ${folders[0]}`;
      throw new RefusedRef(`${path} is not read: it is outside ${where} (allow more with specRefs.allow or --allow-refs)`);
    }
    return readBounded(real, policy.maxBytes, path);
  }
}

function isWithin(folder: string, path: string): boolean {
  const rel = relative(folder, path);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/** Reads a regular file of at most `maxBytes` (a device such as /dev/zero, a FIFO or a folder is refused). */
export async function readBounded(path: string, maxBytes: number, shown = path): Promise<Buffer> {
  // O_NONBLOCK: opening a FIFO must not wait for a writer (it is refused right after).
  const fh = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const info = await fh.stat();
    if (!info.isFile()) throw new RefusedRef(`${shown} is not read: it is not a regular file`);
    if (info.size > maxBytes) throw new RefusedRef(`${shown} is not read: it has ${info.size} bytes, more than specRefs.maxBytes (${maxBytes})`);
    // Only the size it had when checked is read, even if it grows meanwhile.
    const buf = Buffer.alloc(info.size);
    let length = 0;
    while (length < buf.length) {
      const { bytesRead } = await fh.read(buf, length, buf.length - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    return buf.subarray(0, length);
  } finally {
    await fh.close();
  }
}

async function fetchBounded(url: string, maxBytes: number): Promise<Buffer> {
  const res = await fetch(url, { redirect: 'error', signal: AbortSignal.timeout(10_000) });
  if (!res.ok) throw new Error(`HTTP ${res.status} from ${url}`);
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of res.body ?? []) {
    length += (chunk as Uint8Array).byteLength;
    if (length > maxBytes) throw new RefusedRef(`${url} is not read: the response has more than specRefs.maxBytes (${maxBytes}) bytes`);
    chunks.push(Buffer.from(chunk as Uint8Array));
  }
  return Buffer.concat(chunks);
}
