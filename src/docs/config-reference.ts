import type { TProperties } from 'typebox';

interface KeySchema { type?: unknown; properties?: Record<string, KeySchema>; required?: string[]; default?: unknown; description?: string }

/**
 * The README's table of reflex.yaml keys, generated from the config schema (src/config/schema.ts)
 * so that keys, defaults and descriptions cannot drift from the code (a test compares it with the README).
 * `everySink` documents the fields every `sinks:` block has (the SDK's shared sink fields).
 */
export function configReference(schema: { properties: TProperties }, everySink: TProperties): string {
  const lines = ['| key | default | what |', '|---|---|---|'];
  const rows = (properties: Record<string, KeySchema>, prefix: string) => {
    for (const [name, p] of Object.entries(properties)) {
      const key = prefix + name;
      // A block of optional keys (a section, a credential) is documented key by key; anything else is one value.
      if (p.type === 'object' && p.properties && Object.keys(p.properties).length > 0 && !p.required?.length) rows(p.properties, `${key}.`);
      else lines.push(`| \`${key}\` | ${shown(p.default)} | ${(p.description ?? '').replace(/\|/g, '\\|')} |`);
    }
  };
  rows(schema.properties as Record<string, KeySchema>, '');
  rows(everySink as Record<string, KeySchema>, 'sinks[].');
  return lines.join('\n');
}

/** A default as reflex.yaml would spell it: `10mb`, `[0s, 5s]`, `false`; none when there is none. */
function shown(value: unknown): string {
  if (value === undefined) return 'none';
  return `\`${Array.isArray(value) ? `[${value.join(', ')}]` : String(value)}\``;
}
