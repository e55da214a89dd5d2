import { CODE_LIST } from '../codes.js';

const GROUPS: Array<[prefix: string, title: string]> = [
  ['RX0', 'reading an OpenAPI document'],
  ['RX1', 'x-reflex annotations'],
  ['RX2', 'reflex.yaml'],
  ['RX3', 'reading a log entry (a dead letter)'],
  ['RX4', 'processing an exchange (a dead letter)'],
];

/**
 * The README's table of codes, generated from the code list so the docs cannot drift from the
 * code (a test compares it with the README).
 */
export function codeReference(): string {
  const lines = ['| code | meaning |', '|---|---|'];
  const entries = Object.values(CODE_LIST).sort((a, b) => a.code.localeCompare(b.code));
  for (const [prefix, title] of GROUPS) {
    lines.push(`| **${prefix}xx** | **${title}** |`);
    for (const c of entries.filter((e) => e.code.startsWith(prefix))) {
      lines.push(`| \`${c.code}\` | ${c.severity === 'warning' ? 'warning: ' : ''}${c.meaning.replace(/\|/g, '\\|')} |`);
    }
  }
  return lines.join('\n');
}
