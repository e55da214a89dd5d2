import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { CODES } from '../../src/codes.js';
import { formatDiagnostic } from '../../src/model/diagnostic.js';
import type { Exchange } from '../../src/model/exchange.js';
import { Ingestor } from '../../src/pipeline/ingest.js';
import { processExchange, type Outcome } from '../../src/pipeline/process.js';
import { DEFAULT_RULE_LIMITS, type RuleLimits } from '../../src/rules/budget.js';
import { compileCel, compileEventCel } from '../../src/rules/cel.js';
import { ExpressionError } from '../../src/rules/expression.js';
import { compileJsonata } from '../../src/rules/jsonata/index.js';
import jsonata from 'jsonata';
import { checkSpecSet, loadSpecSet } from '../../src/spec/compile.js';
import type { CompiledSpecSet } from '../../src/spec/types.js';
import { SqliteStore } from '../../src/store/sqlite-store.js';

const RUNAWAY = 'test/fixtures/budgets/runaway.yaml';
let specs: CompiledSpecSet;
beforeAll(async () => {
  specs = await loadSpecSet([RUNAWAY]);
});

function exchange(path: string, body: unknown, id = 'req-1'): Exchange {
  return {
    request: {
      id, time: '2026-11-02T10:00:00.000Z', method: 'POST', scheme: 'https', host: 'api.example', path, query: {},
      headers: { 'content-type': 'application/json' }, body, route: null, params: {},
    },
    response: { status: 200, headers: {}, body: { ok: true }, latencyMs: 3 },
    client: { ip: '10.0.0.1', consumer: null },
    gateway: { kind: 'kong', service: 'svc', route: 'r', node: null },
    operation: null,
  };
}

async function timedRun(path: string, body: unknown, limits?: RuleLimits): Promise<{ outcome: Outcome; ms: number }> {
  const started = performance.now();
  const outcome = await processExchange(exchange(path, body), specs, 'kong:req-1', limits);
  return { outcome, ms: performance.now() - started };
}

function failure(outcome: Outcome) {
  if (outcome.kind !== 'failed') throw new Error(`expected a dead letter, got ${outcome.kind}`);
  return outcome.diagnostic;
}

const items = Array.from({ length: 3000 }, (_, i) => i);

describe('CEL matches() runs RE2', () => {
  it('answers a catastrophic pattern at once, in time linear in the input, in rules and webhook filters', () => {
    const rule = compileCel("request.body.s.matches('^(a+)+$')");
    const filter = compileEventCel("event.data.s.matches('^(a+)+$') || matches(event.data.s, '(x+x+)+y')");
    const input = (n: number) => 'a'.repeat(n) + '!';
    let started = performance.now();
    expect(rule.evaluate({ request: { body: { s: input(31) } } })).toBe(false);
    expect(filter.evaluate({ event: { data: { s: input(31) } } })).toBe(false);
    expect(performance.now() - started).toBeLessThan(1000); // JavaScript's RegExp: 28 s

    const timeFor = (n: number) => {
      const s = input(n);
      started = performance.now();
      for (let i = 0; i < 5; i++) rule.evaluate({ request: { body: { s } } });
      return performance.now() - started;
    };
    timeFor(20_000); // warm-up
    const small = timeFor(20_000);
    const large = timeFor(200_000);
    expect(large).toBeLessThan(Math.max(small, 1) * 40); // ten times the input, not 2^n times the time
  });

  it('keeps CEL matches semantics: unanchored search, member and function forms, dynamic patterns', () => {
    const s = { request: { body: { s: 'order-42', p: '^order-\\d+$' } } };
    expect(compileCel("request.body.s.matches('\\\\d+')").evaluate(s)).toBe(true);
    expect(compileCel("matches(request.body.s, '^x')").evaluate(s)).toBe(false);
    expect(compileCel('request.body.s.matches(request.body.p)').evaluate(s)).toBe(true);
    // A pattern from data that RE2 refuses fails that evaluation (a dead letter), it does not run.
    expect(() => compileCel('request.body.s.matches(request.body.p)').evaluate({ request: { body: { s: 'aa', p: '(a)\\1' } } }))
      .toThrow(/RE2/);
  });

  it('refuses at load, with file:line:column, a literal pattern RE2 cannot compile', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'reflex-re2-'));
    const file = join(dir, 'spec.yaml');
    writeFileSync(file, [
      'openapi: 3.1.0',
      "info: { title: t, version: '1' }",
      'paths:',
      '  /a:',
      '    post:',
      "      responses: { '200': { description: ok } }",
      '      x-reflex-events:',
      '        - type: Echoed',
      "          when: request.body.s.matches('(a+)\\\\1')",
      '        - type: Looked',
      "          when: matches(request.body.s, 'a(?=b)')",
      '',
    ].join('\n'));
    const { set, diagnostics } = await checkSpecSet([file]);
    expect(set).toBeNull();
    const lines = diagnostics.map(formatDiagnostic);
    expect(lines).toEqual([
      expect.stringMatching(/spec\.yaml:9:40 - error RX125: x-reflex-events\[0\]\.when: matches\(\): "\(a\+\)\\\\1" is not an RE2 pattern: invalid escape sequence/),
      expect.stringMatching(/spec\.yaml:11:41 - error RX125: x-reflex-events\[1\]\.when: matches\(\): "a\(\?=b\)" is not an RE2 pattern: invalid or unsupported Perl syntax/),
    ]);
  });
});

describe('JSONata regular expressions run RE2', () => {
  const run = async (source: string, body: unknown) => compileJsonata(source).evaluate({ request: { body } });

  it('answers a catastrophic pattern at once', async () => {
    const started = performance.now();
    expect(await run('$contains(request.body.s, /^(a+)+$/)', { s: 'a'.repeat(31) + '!' })).toBe(false);
    expect(performance.now() - started).toBeLessThan(1000); // JavaScript's RegExp: tens of seconds
  });

  it("gives what jsonata's own RegExp engine gives: $match with groups and flags, $replace, $split, $contains, successive matches", async () => {
    const cases: Array<[string, string]> = [
      ['$match(request.body.s, /(\\w+)-(\\d+)/)', 'order-42 and item-7'],
      ['$match(request.body.s, /ITEM-(\\d+)/i).groups[0]', 'order-42 and item-7'],
      ['[$match(request.body.s, /\\d+/).match]', 'a1 b22 c333'],
      ['$replace(request.body.s, /(\\d+)/, "#$1")', 'a1 b22'],
      ['$split(request.body.s, /[,;]\\s*/)', 'x, y;z'],
      ['$contains(request.body.s, /^line2$/m)', 'line1\nline2'],
      ['request.body.s ~> /b+/', 'abbbc'],
    ];
    for (const [source, s] of cases) {
      const expected = await jsonata(source).evaluate({ request: { body: { s } } });
      expect(JSON.stringify(await run(source, { s })), source).toBe(JSON.stringify(expected));
    }
    expect(JSON.parse(JSON.stringify(await run('$match(request.body.s, /(\\w+)-(\\d+)/)', { s: 'order-42 and item-7' })))).toEqual([
      { match: 'order-42', index: 0, groups: ['order', '42'] },
      { match: 'item-7', index: 13, groups: ['item', '7'] },
    ]);
  });

  it('refuses at load a regex literal RE2 cannot compile', () => {
    expect(() => compileJsonata('$match(request.body.s, /(a)\\1/)')).toThrow(/regular expression \/\(a\)\\1\/ is not RE2 syntax/);
    expect(() => compileJsonata('$contains(request.body.s, /a(?=b)/)')).toThrow(ExpressionError);
  });
});

describe('rule budgets', () => {
  it('stops a JSONata recursion without end at limits.ruleTimeout: a dead letter naming the rule and the budget', async () => {
    const { outcome, ms } = await timedRun('/loop', {});
    expect(failure(outcome)).toMatchObject({
      code: 'RX411', file: RUNAWAY, line: 20, pointer: '/paths/~1loop/post/x-reflex-events/0',
      message: expect.stringMatching(/'data' of event Looped ran longer than limits\.ruleTimeout \(50 ms\)/),
    });
    expect(ms).toBeLessThan(1000);
  });

  it('stops a deep recursion at limits.ruleDepth before it eats the heap', async () => {
    const { outcome, ms } = await timedRun('/deep', {}, { ...DEFAULT_RULE_LIMITS, timeoutMs: 60_000 });
    expect(failure(outcome)).toMatchObject({
      code: 'RX412', file: RUNAWAY, line: 27,
      message: expect.stringMatching(/'data' of event Deep nested deeper than limits\.ruleDepth \(500\)/),
    });
    expect(ms).toBeLessThan(2000);
  });

  it('stops nested CEL comprehensions over 3,000 items at the time budget (32 s before)', async () => {
    const { outcome, ms } = await timedRun('/nested', { items });
    expect(failure(outcome)).toMatchObject({
      code: 'RX411', line: 34, message: expect.stringMatching(/'when' of event Paired ran longer than limits\.ruleTimeout/),
    });
    expect(ms).toBeLessThan(500);
    // The same rule under a budget it fits in still decides.
    const small = await timedRun('/nested', { items: [1, 2, 3] });
    expect(small.outcome.kind).toBe('records');
  });

  it('applies the budgets to x-reflex-cdc expressions too, at the operation\'s location', async () => {
    const { outcome } = await timedRun('/things', { id: 't1' });
    expect(failure(outcome)).toMatchObject({ code: 'RX411', pointer: '/paths/~1things/post/x-reflex-cdc', message: expect.stringMatching(/^x-reflex-cdc state ran longer/) });
  });

  it('refuses a 100 MB event built from a small exchange (limits.eventSize)', async () => {
    const { outcome } = await timedRun('/big', { n: 100_000_000 });
    expect(failure(outcome)).toMatchObject({
      code: 'RX413', line: 41, message: expect.stringMatching(/event Big is 100000\d{3} bytes, larger than limits\.eventSize \(1048576 bytes\)/),
    });
    const fits = await timedRun('/big', { n: 1000 });
    expect(fits.outcome.kind).toBe('records');
    const smaller = await timedRun('/big', { n: 1000 }, { ...DEFAULT_RULE_LIMITS, eventSize: 500 });
    expect(failure(smaller.outcome).code).toBe('RX413');
  });

  it('hands the store each event serialized once, as it was measured', async () => {
    const { outcome } = await timedRun('/ok', { n: 1, items: [1, 2] });
    if (outcome.kind !== 'records') throw new Error(outcome.kind);
    const [record] = outcome.records;
    expect(JSON.parse(record!.json!)).toEqual(record!.value);
  });
});

describe('a batch with runaway rules', () => {
  it('yields to the event loop between exchanges, commits the good entries and dead-letters the bad ones', async () => {
    const store = new SqliteStore({ path: ':memory:', retentionMs: 0, dedupeWindowMs: 60_000, synchronous: 'normal' });
    store.ensureStreams(specs.streams);
    const ingestor = new Ingestor(store, specs, null);
    const entries = [
      exchange('/ok', { n: 1, items }, 'a'),
      exchange('/loop', {}, 'b'),
      exchange('/nested', { items }, 'c'),
      exchange('/loop', {}, 'd'),
      exchange('/ok', { n: 2, items }, 'e'),
    ].map((ex) => ({ ok: true as const, exchange: ex, raw: null }));
    let ticks = 0;
    let longestGap = 0;
    let last = performance.now();
    const timer = setInterval(() => {
      const now = performance.now();
      longestGap = Math.max(longestGap, now - last);
      last = now;
      ticks++;
    }, 1);
    const result = await ingestor.ingest(entries, { source: 'test' });
    clearInterval(timer);
    expect(ticks).toBeGreaterThanOrEqual(2); // timers ran while the batch was processed
    expect(longestGap).toBeLessThan(DEFAULT_RULE_LIMITS.timeoutMs + 60);
    expect(result).toMatchObject({ deadLetters: 3 });
    expect(store.deadLetters(0, 10).map((d) => [d.requestKey, d.diagnostic.code])).toEqual([
      ['kong:b', 'RX411'], ['kong:c', 'RX411'], ['kong:d', 'RX411'],
    ]);
    expect(store.read('events', 0, 10).map((r) => (r.value as { data: { n: number } }).data.n)).toEqual([1, 2]);
    store.close();
  });
});

describe('limits in reflex.yaml', () => {
  it('reads ruleTimeout, ruleDepth and eventSize, and names a bad value with its line', () => {
    const dir = mkdtempSync(join(tmpdir(), 'reflex-limits-'));
    const good = join(dir, 'good.yaml');
    writeFileSync(good, 'limits:\n  ruleTimeout: 20ms\n  ruleDepth: 300\n  eventSize: 256kb\n');
    expect(loadConfig(good, {}).limits.rules).toEqual({ timeoutMs: 20, maxDepth: 300, eventSize: 256 * 1024 });
    const defaults = join(dir, 'defaults.yaml');
    writeFileSync(defaults, 'store: { sync: normal }\n');
    expect(loadConfig(defaults, {}).limits.rules).toEqual({ timeoutMs: 50, maxDepth: 500, eventSize: 1024 * 1024 });
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'limits:\n  ruleTimeout: soon\n');
    expect(() => loadConfig(bad, {})).toThrow(expect.objectContaining({
      diagnostics: [expect.objectContaining({ pointer: '/limits/ruleTimeout', line: 2, message: expect.stringMatching(/'soon' is not a duration/) })],
    }));
  });
});

describe('reflex lint warnings about rules that run into their budgets', () => {
  it('warns, with file:line, of a function that calls itself unconditionally and of nested comprehensions over data', async () => {
    const { diagnostics } = await checkSpecSet([RUNAWAY]);
    const warnings = diagnostics.filter((d) => d.severity === 'warning').map(formatDiagnostic);
    expect(warnings).toEqual([
      expect.stringMatching(/^test\/fixtures\/budgets\/runaway\.yaml:21:40 - warning RX153: x-reflex-events\[0\]\.data: function \$f calls itself with no condition/),
      // And of the calls to them, whose results have no type a schema could give (RX157).
      expect.stringMatching(/^test\/fixtures\/budgets\/runaway\.yaml:21:50 - warning RX157: x-reflex-events\[0\]\.data: the call \$f\(…\) is beyond schema inference/),
      expect.stringMatching(/^test\/fixtures\/budgets\/runaway\.yaml:28:44 - warning RX153: /),
      expect.stringMatching(/^test\/fixtures\/budgets\/runaway\.yaml:28:58 - warning RX157: /),
      expect.stringMatching(/^test\/fixtures\/budgets\/runaway\.yaml:35:46 - warning RX154: x-reflex-events\[0\]\.when: 'exists' runs inside another comprehension over request\/response data/),
      expect.stringMatching(/^test\/fixtures\/budgets\/runaway\.yaml:49:39 - warning RX153: x-reflex-cdc\.state: /),
      expect.stringMatching(/^test\/fixtures\/budgets\/runaway\.yaml:49:49 - warning RX157: x-reflex-cdc\.state: /),
    ]);
  });

  it('does not warn of recursion under a condition, nor of comprehensions over literals or side by side', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'reflex-lint-'));
    const file = join(dir, 'fine.yaml');
    writeFileSync(file, [
      'openapi: 3.1.0',
      "info: { title: t, version: '1' }",
      'paths:',
      '  /a:',
      '    post:',
      "      responses: { '200': { description: ok } }",
      '      x-reflex-events:',
      '        - type: Counted',
      "          when: request.body.items.exists(i, i > 2) && request.body.tags.all(t, t in ['a', 'b'])",
      "          data: '($f := function($n) { $n <= 1 ? 1 : $n * $f($n - 1) }; {\"f\": $f(5)})'",
      '        - type: Crossed',
      "          when: request.body.items.exists(i, [1, 2].exists(j, i == j))",
      "          data: '($g := function($x) { $x.children.$g($) }; $g(request.body))'",
      '',
    ].join('\n'));
    const { diagnostics } = await checkSpecSet([file]);
    // (Calls to user functions still have no type for the event contract: RX157, not a budget warning.)
    expect(diagnostics.filter((d) => d.code !== CODES.untypedExpression).map(formatDiagnostic)).toEqual([]);
  });
});
