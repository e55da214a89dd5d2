import { readFileSync } from 'node:fs';
import { Kafka, logLevel, type KafkaConfig, type SASLOptions } from 'kafkajs';
import type { Logger } from '../../../src/logger.js';

/** Connection settings shared by the Kafka sink (and usable by any Kafka connector). */
export interface KafkaConnection {
  brokers: string[];
  clientId?: string;
  ssl?: boolean | { ca?: string; cert?: string; key?: string; rejectUnauthorized?: boolean };
  sasl?: { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string };
}

export const KAFKA_CONNECTION_SCHEMA = {
  brokers: { type: 'array', items: { type: 'string' }, minItems: 1, description: 'bootstrap brokers, host:port' },
  clientId: { type: 'string', default: 'reflex', description: 'Kafka client id' },
  ssl: {
    description: 'TLS: true, or file paths of the CA, client certificate and key',
    oneOf: [
      { type: 'boolean' },
      {
        type: 'object',
        additionalProperties: false,
        properties: { ca: { type: 'string' }, cert: { type: 'string' }, key: { type: 'string' }, rejectUnauthorized: { type: 'boolean' } },
      },
    ],
  },
  sasl: {
    type: 'object',
    additionalProperties: false,
    required: ['mechanism', 'username', 'password'],
    description: 'SASL credentials (use ${ENV_VAR} for the password)',
    properties: {
      mechanism: { enum: ['plain', 'scram-sha-256', 'scram-sha-512'] },
      username: { type: 'string' },
      password: { type: 'string' },
    },
  },
} as const;

/** kafkajs notices that do not apply: reflex picks the partitioner, and retries whole batches itself. */
const IGNORED = [/switched default partitioner/, /Limiting retries for the idempotent producer/];
/** The same kafkajs message is logged at most once per this period (a dead broker would repeat it per retry). */
const REPEAT_MS = 30_000;

/** A kafkajs client whose log lines go to reflex's logger: one line each, no stack traces, no floods. */
export function kafkaClient(conn: KafkaConnection, logger: Logger): Kafka {
  const lastLogged = new Map<string, { at: number; suppressed: number }>();
  const config: KafkaConfig = {
    clientId: conn.clientId ?? 'reflex',
    brokers: conn.brokers,
    logLevel: logLevel.WARN,
    logCreator: () => ({ level, log }) => {
      const { message, error } = log as { message: string; error?: string };
      if (IGNORED.some((re) => re.test(message))) return;
      const now = Date.now();
      const seen = lastLogged.get(message);
      if (seen && now - seen.at < REPEAT_MS) {
        seen.suppressed++;
        return;
      }
      lastLogged.set(message, { at: now, suppressed: 0 });
      const fields = {
        ...(error && error !== message ? { error } : {}),
        brokers: conn.brokers.join(','),
        ...(seen?.suppressed ? { repeated: seen.suppressed } : {}),
      };
      if (level === logLevel.ERROR) logger.error(`kafka: ${message}`, fields);
      else if (level === logLevel.WARN) logger.warn(`kafka: ${message}`, fields);
    },
    retry: { initialRetryTime: 300, retries: 8, maxRetryTime: 30_000 },
  };
  if (conn.ssl === true) config.ssl = true;
  else if (conn.ssl) {
    const s = conn.ssl;
    config.ssl = {
      ...(s.ca ? { ca: [readFileSync(s.ca, 'utf8')] } : {}),
      ...(s.cert ? { cert: readFileSync(s.cert, 'utf8') } : {}),
      ...(s.key ? { key: readFileSync(s.key, 'utf8') } : {}),
      ...(s.rejectUnauthorized !== undefined ? { rejectUnauthorized: s.rejectUnauthorized } : {}),
    };
  }
  if (conn.sasl) config.sasl = { mechanism: conn.sasl.mechanism, username: conn.sasl.username, password: conn.sasl.password } as SASLOptions;
  return new Kafka(config);
}
