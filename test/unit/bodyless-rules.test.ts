import { describe, expect, it } from 'vitest';
import { formatDiagnostic } from '../../src/model/diagnostic.js';
import { bodylessRuleWarnings } from '../../src/spec/bodyless-rules.js';
import { bodiesRead } from '../../src/spec/body-reads.js';
import { loadSpecSet } from '../../src/spec/compile.js';
import { compileCel } from '../../src/rules/cel.js';
import { compileJsonata } from '../../src/rules/jsonata/index.js';

const SPEC = 'test/fixtures/aws-apigw/rates.yaml';
const bodyless = { name: 'aws-apigw', bodies: false };

describe('rules that read bodies a format never carries (RX156)', () => {
  it('names each such rule with its file:line and what it reads, when every source is bodyless', async () => {
    const specs = await loadSpecSet([SPEC]);
    const lines = bodylessRuleWarnings(specs, [bodyless, bodyless]).map(formatDiagnostic);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^test\/fixtures\/aws-apigw\/rates\.yaml:19:\d+ - warning RX156: rule RatesQuoted of getRates reads response\.body in when, but every source reads aws-apigw, which logs no bodies/);
    // The key the rule takes from its resource counts; the default data (response.body) does not.
    expect(lines[1]).toMatch(/rates\.yaml:28:\d+ - warning RX156: rule Greeted of hello reads response\.body in data, response\.body in key \(resource greetings\)/);
  });

  it('says nothing when any source carries bodies, or there is none', async () => {
    const specs = await loadSpecSet([SPEC]);
    expect(bodylessRuleWarnings(specs, [bodyless, { name: 'kong' }])).toEqual([]);
    expect(bodylessRuleWarnings(specs, [bodyless, { name: 'envoy-als' }])).toEqual([]);
    expect(bodylessRuleWarnings(specs, [])).toEqual([]);
  });

  it('finds body reads in the syntax tree, not in the text', () => {
    expect(bodiesRead(compileCel('response.body.total > 10 && request.body["x"] == 1'))).toEqual(['request', 'response']);
    expect(bodiesRead(compileCel('"response.body" == request.path'))).toEqual([]);
    expect(bodiesRead(compileJsonata('{"a": $.request.body.a, "b": response.status}'))).toEqual(['request']);
    expect(bodiesRead(compileJsonata('"response.body"'))).toEqual([]);
    expect(bodiesRead(compileJsonata('$string(response.body)'))).toEqual(['response']);
  });
});
