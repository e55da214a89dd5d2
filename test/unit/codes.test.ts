import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { API_CODE_LIST, CODE_LIST, CODES } from '../../src/codes.js';
import { ReflexError } from '../../src/errors.js';

const root = new URL('../..', import.meta.url).pathname;

function sourceFiles(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => join(e.parentPath, e.name));
}

describe('the code list', () => {
  it('holds every RX code the source names (src/ and connectors/)', () => {
    const listed = new Set(Object.values(CODES));
    const missing: string[] = [];
    for (const file of [...sourceFiles('src'), ...sourceFiles('connectors')]) {
      for (const [code] of readFileSync(file, 'utf8').matchAll(/\bRX\d{3}\b/g)) {
        if (!listed.has(code as never)) missing.push(`${file.slice(root.length)}: ${code}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('gives each code once, with a meaning', () => {
    const all = [...Object.values(CODE_LIST), ...Object.values(API_CODE_LIST)];
    expect(new Set(all.map((c) => c.code)).size).toBe(all.length);
    for (const c of all) expect(c.meaning, c.code).not.toBe('');
    for (const c of Object.values(CODE_LIST)) expect(c.code).toMatch(/^RX\d{3}$/);
  });
});

describe('ReflexError', () => {
  it('carries code, status and pointer, and answers the HTTP API with them', () => {
    const err = new ReflexError(CODES.entryFieldType, '/request/time must be a date-time', { status: 400, pointer: '/request/time' });
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('ReflexError');
    expect([err.code, err.status, err.pointer]).toEqual(['RX303', 400, '/request/time']);
    expect(err.answerBody()).toEqual({ error: '/request/time must be a date-time', code: 'RX303', pointer: '/request/time' });
  });

  it('answers 500 without a pointer unless told otherwise', () => {
    const err = new ReflexError('STORE_ERROR', 'disk full');
    expect(err.status).toBe(500);
    expect(err.answerBody()).toEqual({ error: 'disk full', code: 'STORE_ERROR' });
  });
});
