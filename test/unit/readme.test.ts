import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { builtinRegistry } from '../../connectors/index.js';
import { connectorReference } from '../../src/docs/connector-reference.js';
import { CONFIG_SCHEMA } from '../../src/config/schema.js';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

describe('README', () => {
  it('carries the connector reference generated from the connectors\' schemas (run `npx tsx scripts/connector-docs.ts`)', () => {
    const section = /<!-- connectors:start -->\n([\s\S]*?)<!-- connectors:end -->/.exec(readme);
    expect(section?.[1]?.trim()).toBe(connectorReference(builtinRegistry()).trim());
  });

  it('documents every config key', () => {
    const keys: string[] = [];
    for (const [k, v] of Object.entries(CONFIG_SCHEMA.properties)) {
      const props = (v as { properties?: Record<string, unknown> }).properties;
      if (props) for (const sub of Object.keys(props)) keys.push(`${k}.${sub}`);
      else keys.push(k);
    }
    for (const key of keys) expect(readme, key).toContain(`\`${key}\``);
  });

  it('shows the same test command that CI runs', () => {
    const ci = readFileSync(new URL('../../.ci/run', import.meta.url), 'utf8').trim().split('\n').at(-1)!;
    expect(readme).toContain(ci);
  });
});
