import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { builtinRegistry } from '../../connectors/index.js';
import { connectorReference } from '../../src/docs/connector-reference.js';
import { codeReference } from '../../src/docs/code-reference.js';
import { CONFIG_SCHEMA } from '../../src/config/schema.js';
import { configReference } from '../../src/docs/config-reference.js';
import { SHARED_SINK_FIELDS } from '../../src/sdk/define.js';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

describe('README', () => {
  it('carries the connector reference generated from the connectors\' schemas (run `npx tsx scripts/connector-docs.ts`)', () => {
    const section = /<!-- connectors:start -->\n([\s\S]*?)<!-- connectors:end -->/.exec(readme);
    expect(section?.[1]?.trim()).toBe(connectorReference(builtinRegistry()).trim());
  });

  it('carries the table of config keys generated from the config schema, defaults included (run `npx tsx scripts/config-docs.ts`)', () => {
    const section = /<!-- config:start -->\n([\s\S]*?)<!-- config:end -->/.exec(readme)?.[1] ?? '';
    expect(section.trim()).toBe(configReference(CONFIG_SCHEMA, SHARED_SINK_FIELDS).trim());
    for (const [k, v] of Object.entries(CONFIG_SCHEMA.properties)) {
      const props = (v as { properties?: Record<string, unknown> }).properties;
      for (const key of props ? Object.keys(props).map((sub) => `${k}.${sub}`) : [k]) expect(section, key).toContain(`| \`${key}`);
    }
  });

  it('carries the table of diagnostic codes generated from the code list (run `npx tsx scripts/code-docs.ts`)', () => {
    const section = /<!-- codes:start -->\n([\s\S]*?)<!-- codes:end -->/.exec(readme);
    expect(section?.[1]?.trim()).toBe(codeReference().trim());
  });

  it('shows the same test command that CI runs', () => {
    const ci = readFileSync(new URL('../../.ci/run', import.meta.url), 'utf8').trim().split('\n').at(-1)!;
    expect(readme).toContain(ci);
  });
});
