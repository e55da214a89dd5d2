import { readFileSync } from 'node:fs';
import { logLevel, type KafkaConfig, type LogEntry, type SASLOptions } from 'kafkajs';
import type { Logger } from '../../src/logger.js';

/** How every Kafka connector (source and sink) reaches the brokers. */
export interface KafkaConnection {
  brokers: string[];
  clientId?: string;
  ssl?: boolean | KafkaSslConfig;
  sasl?: KafkaSaslConfig;
}

export interface KafkaSslConfig {
  /** PEM file paths (absolute, or relative to the working directory). */
  ca?: string;
  cert?: string;
  key?: string;
  rejectUnauthorized?: boolean;
}

export interface KafkaSaslConfig {
  mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512';
  username: string;
  password: string;
}

const file = { type: 'string', minLength: 1 };

/** The connection part of a Kafka connector's config schema. */
export const KAFKA_CONNECTION_SCHEMA = {
  brokers: { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 }, description: 'bootstrap brokers, host:port' },
  clientId: { type: 'string', minLength: 1, default: 'reflex', description: 'Kafka client id' },
  ssl: {
    type: ['boolean', 'object'],
    additionalProperties: false,
    properties: { ca: file, cert: file, key: file, rejectUnauthorized: { type: 'boolean' } },
    description: 'TLS: true, or {ca, cert, key} PEM file paths (relative to the working directory) and rejectUnauthorized',
  },
  sasl: {
    type: 'object',
    additionalProperties: false,
    required: ['mechanism', 'username', 'password'],
    properties: {
      mechanism: { enum: ['plain', 'scram-sha-256', 'scram-sha-512'] },
      username: { type: 'string' },
      password: { type: 'string' },
    },
    description: 'SASL {mechanism, username, password}; mechanism plain, scram-sha-256 or scram-sha-512; put secrets in ${ENV} variables',
  },
} as const;

export interface KafkaClientOptions {
  /** kafkajs's own retries per connect or request, before the connector's backoff takes over. */
  retries: number;
  /**
   * `folded`: kafkajs warnings and errors are logged, each distinct message at most once per 30 s.
   * `debug`: kafkajs lines go to debug (the connector reports failures itself).
   */
  logs: 'folded' | 'debug';
}

/** kafkajs notices that do not apply: reflex picks the partitioner, and retries whole batches itself. */
const IGNORED = [/switched default partitioner/, /Limiting retries for the idempotent producer/];
const REPEAT_MS = 30_000;

/** The kafkajs client config, built once at construction time (certificate files are read here). */
export function kafkaClientConfig(conn: KafkaConnection, logger: Logger, options: KafkaClientOptions): KafkaConfig {
  const config: KafkaConfig = {
    brokers: conn.brokers,
    clientId: conn.clientId ?? 'reflex',
    retry: { initialRetryTime: 300, maxRetryTime: 30_000, retries: options.retries },
    logLevel: logLevel.WARN,
    logCreator: options.logs === 'folded' ? foldedLogs(logger, conn) : debugLogs(logger),
  };
  if (conn.ssl !== undefined) config.ssl = typeof conn.ssl === 'boolean' ? conn.ssl : tlsOptions(conn.ssl);
  if (conn.sasl) config.sasl = { mechanism: conn.sasl.mechanism, username: conn.sasl.username, password: conn.sasl.password } as SASLOptions;
  return config;
}

function tlsOptions(ssl: KafkaSslConfig) {
  const read = (key: 'ca' | 'cert' | 'key') => {
    const path = ssl[key];
    if (path === undefined) return undefined;
    try {
      return readFileSync(path, 'utf8');
    } catch (err) {
      throw new Error(`kafka ssl.${key}: cannot read '${path}': ${(err as Error).message}`);
    }
  };
  const ca = read('ca');
  const cert = read('cert');
  const key = read('key');
  return {
    ...(ca !== undefined ? { ca: [ca] } : {}),
    ...(cert !== undefined ? { cert } : {}),
    ...(key !== undefined ? { key } : {}),
    ...(ssl.rejectUnauthorized !== undefined ? { rejectUnauthorized: ssl.rejectUnauthorized } : {}),
  };
}

/** One line per problem, no stack traces; a dead broker's per-retry repeats are folded into a count. */
function foldedLogs(logger: Logger, conn: KafkaConnection) {
  const lastLogged = new Map<string, { at: number; suppressed: number }>();
  return () => ({ level, log }: LogEntry) => {
    const { message, error } = log;
    if (IGNORED.some((re) => re.test(message))) return;
    const now = Date.now();
    const seen = lastLogged.get(message);
    if (seen && now - seen.at < REPEAT_MS) {
      seen.suppressed++;
      return;
    }
    lastLogged.set(message, { at: now, suppressed: 0 });
    const fields = {
      ...(error && String(error) !== message ? { error: String(error) } : {}),
      brokers: conn.brokers.join(','),
      ...(seen?.suppressed ? { repeated: seen.suppressed } : {}),
    };
    if (level === logLevel.ERROR) logger.error(`kafka: ${message}`, fields);
    else if (level === logLevel.WARN) logger.warn(`kafka: ${message}`, fields);
  };
}

function debugLogs(logger: Logger) {
  return () => ({ namespace, log }: LogEntry) => {
    const { message, error } = log;
    logger.debug(`kafkajs: ${message}`, { namespace, ...(error ? { error: String(error) } : {}) });
  };
}
