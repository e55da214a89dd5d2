import { describe, expect, it } from 'vitest';
import { runLint, summary } from '../../src/cli/lint.js';
import { F } from './spec-helpers.js';

async function lint(...files: string[]): Promise<{ code: number; lines: string[] }> {
  const lines: string[] = [];
  const code = await runLint(files.map((f) => `${F}/${f}`), (l) => lines.push(l));
  return { code, lines };
}

describe('reflex lint', () => {
  it('exits 0 and says so when the specs are clean', async () => {
    expect(await lint('shop.yaml', 'billing.json')).toEqual({
      code: 0,
      lines: [`no problems in ${F}/shop.yaml, ${F}/billing.json`],
    });
  });

  it('exits 1 with one line per problem, then the summary naming the file with the problem', async () => {
    expect(await lint('errors/multi.yaml')).toEqual({
      code: 1,
      lines: [
        `${F}/errors/multi-paths.yaml:13:55 - error RX131: x-reflex-events[0].when: response.body has no property 'totl' (per the response schemas of createOrder). Did you mean 'total'? (at /orders/post/x-reflex-events/0/when)`,
        `1 error in ${F}/errors/multi-paths.yaml`,
      ],
    });
  });

  it('prints warnings without failing', async () => {
    const { code, lines } = await lint('minimal.yaml');
    expect(code).toBe(0);
    expect(lines).toEqual([
      `${F}/minimal.yaml:7:5 - warning RX151: resource 'toys' is not used by any path. Refer to it with x-reflex-resource: toys on a path item or operation. (at /x-reflex/resources/toys)`,
      `0 errors, 1 warning in ${F}/minimal.yaml`,
    ]);
  });

  it('counts errors and warnings across files', async () => {
    const { code, lines } = await lint('errors/annotations.yaml', 'errors/syntax.yaml');
    expect(code).toBe(1);
    expect(lines.at(-1)).toBe(`18 errors, 2 warnings in ${F}/errors/annotations.yaml, ${F}/errors/syntax.yaml`);
  });

  it('words the summary in the singular and plural', () => {
    expect(summary([{ code: 'RX1', severity: 'error', message: 'm', file: 'a.yaml' }], ['a.yaml'])).toBe('1 error in a.yaml');
    expect(summary([], ['a.yaml'])).toBe('no problems in a.yaml');
  });
});
