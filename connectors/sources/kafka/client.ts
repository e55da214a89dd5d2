import { readFileSync } from 'node:fs';
import { logLevel, type KafkaConfig, type LogEntry, type SASLOptions } from 'kafkajs';
import type { Logger } from '../../../src/logger.js';

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

export interface KafkaConnection {
  brokers: string[];
  clientId?: string;
  ssl?: boolean | KafkaSslConfig;
  sasl?: KafkaSaslConfig;
}

/**
 * kafkajs retries each connect and request this often before giving up; the source then waits with
 * its own growing backoff. Few retries here so that a wrong address is reported within seconds.
 */
const RETRY = { initialRetryTime: 300, maxRetryTime: 30_000, retries: 3 };

/** Builds the kafkajs client config once, at construction time: certificate files are read here. */
export function kafkaClientConfig(conn: KafkaConnection, logger: Logger): KafkaConfig {
  const config: KafkaConfig = {
    brokers: conn.brokers,
    clientId: conn.clientId ?? 'reflex',
    retry: RETRY,
    logLevel: logLevel.WARN,
    logCreator: kafkaLogCreator(logger),
  };
  if (conn.ssl !== undefined) config.ssl = typeof conn.ssl === 'boolean' ? conn.ssl : tlsOptions(conn.ssl);
  if (conn.sasl) config.sasl = { mechanism: conn.sasl.mechanism, username: conn.sasl.username, password: conn.sasl.password } as SASLOptions;
  return config;
}

function tlsOptions(ssl: KafkaSslConfig) {
  const read = (key: 'ca' | 'cert' | 'key') => {
    const file = ssl[key];
    if (file === undefined) return undefined;
    try {
      return readFileSync(file, 'utf8');
    } catch (err) {
      throw new Error(`kafka ssl.${key}: cannot read '${file}': ${(err as Error).message}`);
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

/**
 * kafkajs logs every retry with a stack trace. The source reports failures itself (one line per
 * attempt), so kafkajs's own lines go to debug, without stacks.
 */
function kafkaLogCreator(logger: Logger) {
  return () => ({ namespace, log }: LogEntry) => {
    const { message, error } = log;
    logger.debug(`kafkajs: ${message}`, { namespace, ...(error ? { error: String(error) } : {}) });
  };
}
