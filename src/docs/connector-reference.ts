import type { Registry } from '../registry.js';

interface PropertySchema { type?: unknown; enum?: unknown[]; const?: unknown; default?: unknown; description?: string }

/**
 * The README's connector reference, generated from the connectors' own config schemas so the
 * docs cannot drift from the code (a test compares it with the README).
 */
export function connectorReference(registry: Registry): string {
  const lines: string[] = [];
  const section = (kind: 'source' | 'sink', connectors: Iterable<{ type: string; summary: string; configSchema: Record<string, unknown> }>) => {
    for (const c of connectors) {
      lines.push(`#### ${kind} \`${c.type}\``, '', c.summary.charAt(0).toUpperCase() + c.summary.slice(1) + '.', '');
      const props = (c.configSchema.properties ?? {}) as Record<string, PropertySchema>;
      const required = new Set((c.configSchema.required ?? []) as string[]);
      lines.push('| key | type | default | description |', '|---|---|---|---|');
      for (const [name, p] of Object.entries(props)) {
        const type = p.enum ? p.enum.map((v) => JSON.stringify(v)).join(' \\| ') : Array.isArray(p.type) ? p.type.join(' \\| ') : String(p.type ?? '');
        const def = required.has(name) ? '*required*' : p.default !== undefined ? `\`${JSON.stringify(p.default)}\`` : '';
        lines.push(`| \`${name}\` | ${type} | ${def} | ${p.description ?? ''} |`);
      }
      lines.push('');
    }
  };
  section('source', registry.sources.values());
  section('sink', registry.sinks.values());
  lines.push('#### log formats (`format:`)', '', '| name | what |', '|---|---|');
  for (const f of registry.formats.values()) lines.push(`| \`${f.name}\` | ${f.summary} |`);
  return lines.join('\n');
}
