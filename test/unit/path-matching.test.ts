import { describe, expect, it } from 'vitest';
import { kongFormat } from '../../connectors/sources/kong/format.js';
import { processExchange } from '../../src/pipeline/process.js';
import { loadSpecSet } from '../../src/spec/compile.js';
import type { CompiledSpecSet } from '../../src/spec/types.js';
import { kongLog, type KongCall } from '../support/kong-log.js';
import { F } from './spec-helpers.js';

// Kong in front of the library API with the routes users configure. Kong's runtime cannot run here;
// the entries are Kong's log objects as kong.log.serialize() writes them (test/support/kong-log.ts):
// request.uri is what the client called, upstream_uri what the service saw after strip_path.
const PUBLIC = `${F}/library-public.yaml`;
const UPSTREAM = `${F}/library-upstream.yaml`;

const calls: Array<Omit<KongCall, 'routePath' | 'stripPath'>> = [
  { id: 'r1', startedAt: 1793610000000, method: 'PUT', path: '/books/978-0131103627', status: 200, requestBody: { title: 'K&R' }, responseBody: { isbn: '978-0131103627', title: 'The C Programming Language' } },
  { id: 'r2', startedAt: 1793610001000, method: 'GET', path: '/books/978-0131103627', status: 200, responseBody: { isbn: '978-0131103627', title: 'The C Programming Language' } },
  { id: 'r3', startedAt: 1793610002000, method: 'DELETE', path: '/books/978-0131103627', status: 204 },
];

const routes = [
  { name: 'paths [/v2], strip_path true', routePath: '/v2', stripPath: true },
  { name: 'paths [/v2], strip_path false', routePath: '/v2', stripPath: false },
  { name: 'paths [/api/v2] stripped to /', routePath: '/api/v2', stripPath: true },
];

async function outcomes(specs: CompiledSpecSet, route: { routePath: string; stripPath: boolean }) {
  const entries = kongFormat.decode(calls.map((c) => JSON.stringify(kongLog({ ...c, ...route }))).join('\n'));
  const out = [];
  for (const entry of entries) {
    if (!entry.ok) throw new Error(entry.diagnostic.message);
    out.push(await processExchange(entry.exchange, specs, `kong:${entry.exchange.request.id}`));
  }
  return out;
}

describe('route matching with the path the client called and the one the upstream saw', () => {
  it('matches the same operations and gives the same events whichever way the spec is written and whatever the route does', async () => {
    const specs = { public: await loadSpecSet([PUBLIC]), upstream: await loadSpecSet([UPSTREAM]) };
    const seen: string[] = [];
    let reference: unknown;
    for (const [specName, spec] of Object.entries(specs)) {
      for (const route of routes) {
        const results = await outcomes(spec, route);
        const summary = results.map((o) => (o.kind === 'records' ? { op: o.operation.id, records: o.records, change: o.cdc && { op: o.cdc.op, key: o.cdc.key, path: o.cdc.source.path } } : o));
        expect(summary.map((s) => ('op' in s ? s.op : s.kind)), `${specName} spec behind ${route.name}`).toEqual(['saveBook', 'getBook', 'deleteBook']);
        // Change records name the path the client called.
        expect(summary[0]).toMatchObject({ change: { op: 'u', key: '978-0131103627', path: `${route.routePath}/books/978-0131103627` } });
        const events = summary.map((s) => ('records' in s ? s.records : null));
        reference ??= events;
        expect(events, `${specName} spec behind ${route.name}`).toEqual(reference);
        seen.push(`${specName}/${route.name}`);
      }
    }
    expect(seen).toHaveLength(6);
    expect(reference).toMatchObject([[{ stream: 'books', value: { type: 'example.library.BookSaved', subject: '978-0131103627', data: { isbn: '978-0131103627', title: 'The C Programming Language' } } }], [], [{ value: { type: 'example.library.BookRemoved' } }]]);
  });

  it('tells which paths were tried against which base paths when nothing matches', async () => {
    const specs = await loadSpecSet([PUBLIC]);
    const [entry] = kongFormat.decode(JSON.stringify(kongLog({ ...calls[0]!, path: '/v3/books/1', routePath: '/library', stripPath: true })));
    const outcome = await processExchange((entry as { exchange: any }).exchange, specs, 'kong:x');
    expect(outcome.kind).toBe('unmatched');
    const hint = outcome.kind === 'unmatched' ? outcome.hint : '';
    expect(hint).toContain('PUT /library/v3/books/1 (client) → not under base path /v2');
    expect(hint).toContain('PUT /v3/books/1 (upstream) → not under base path /v2');
    expect(hint).toContain('PUT /v3/books/1 (upstream, taken as already without base path) → no operation');
  });

  it('names the methods a path has when only the method is wrong', async () => {
    const specs = await loadSpecSet([PUBLIC]);
    const hint = specs.router.explain({ method: 'POST', path: '/v2/books/1', upstreamPath: '/books/1' });
    expect(hint[0]!.result).toEqual({ found: false, reason: 'other-method', templates: ['GET /books/{isbn}', 'PUT /books/{isbn}', 'DELETE /books/{isbn}'] });
  });
});

describe('x-reflex.match', () => {
  // /users and /admin/users: behind a route that strips /admin, GET /admin/users (client) is GET /users (upstream).
  const spec = (match?: string) => `
openapi: 3.1.0
info: { title: Probe, version: '1' }
servers: [{ url: / }]
${match ? `x-reflex: { match: ${match} }` : ''}
paths:
  /users:
    get: { operationId: listUsers, responses: { '200': { description: ok } } }
  /admin/users:
    get: { operationId: listAdmins, responses: { '200': { description: ok } } }
`;
  const stripped = { method: 'GET', path: '/admin/users', upstreamPath: '/users' };

  async function load(text: string): Promise<CompiledSpecSet> {
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const file = `${mkdtempSync(`${tmpdir()}/reflex-match-`)}/spec.yaml`;
    writeFileSync(file, text);
    return loadSpecSet([file]);
  }

  it('auto takes the client path, and lint explains that choice and how to change it', async () => {
    const specs = await load(spec());
    expect(specs.warnings).toEqual([expect.objectContaining({
      code: 'RX155', severity: 'warning', line: 10,
      message: expect.stringContaining('behind a gateway route that strips /admin, a GET /admin/users the client called reaches the service as /users: reflex takes listAdmins'),
    })]);
    expect(specs.router.route(stripped)?.operation.id).toBe('listAdmins');
  });

  it('upstream: only the path the upstream saw matches', async () => {
    const specs = await load(spec('upstream'));
    expect(specs.warnings).toEqual([]);
    expect(specs.router.route(stripped)?.operation.id).toBe('listUsers');
    // A gateway that logs one path: it stands for the upstream's.
    expect(specs.router.route({ method: 'GET', path: '/admin/users', upstreamPath: null })?.operation.id).toBe('listAdmins');
  });

  it('client: only the path the client called matches', async () => {
    const specs = await load(spec('client'));
    expect(specs.warnings).toEqual([]);
    expect(specs.router.route(stripped)?.operation.id).toBe('listAdmins');
    const other = { method: 'GET', path: '/edge/users', upstreamPath: '/users' };
    expect(specs.router.route(other)).toBeNull();
    expect(specs.router.explain(other).map((t) => t.result)).toContainEqual({ found: false, reason: 'excluded' });
  });

  it('refuses a value other than auto, client or upstream', async () => {
    await expect(load(spec('gateway'))).rejects.toThrow(/RX105/);
  });
});
