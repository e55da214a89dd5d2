import { Value } from 'typebox/value';
import { parseConfig, type ReflexConfig } from './parse.js';
import { CONFIG_SCHEMA, type RawConfig } from './schema.js';

export type { ReflexConfig } from './parse.js';
export type { Credential } from './schema.js';

/** One `sources:` or `sinks:` entry; the connector named by `type` validates the rest. */
export interface ConnectorBlock {
  type: string;
  [key: string]: unknown;
  /** Location of the block in the config file, for errors. */
  readonly __location?: { file: string; pointer: string; line?: number; column?: number };
}

/** The HTTP receivers that are always on, besides whatever `sources:` adds. */
export const DEFAULT_SOURCES: ConnectorBlock[] = [
  { type: 'http', path: '/ingest/kong', format: 'kong' },
  { type: 'http', path: '/ingest/exchanges', format: 'exchange' },
];

/** Fills in the schema's defaults (in place) for every key the value leaves out. */
export function withDefaults(value: unknown): RawConfig {
  return Value.Default(CONFIG_SCHEMA, value) as RawConfig;
}

/** The config when there is no reflex.yaml: every key at its schema default. */
export function defaultConfig(): ReflexConfig {
  return parseConfig(withDefaults({}), { file: null, baseDir: process.cwd(), written: () => false }, (pointer, message) => {
    throw new Error(`the default of ${pointer} does not parse: ${message}`);
  });
}
