import type { KafkaMessage } from 'kafkajs';
import { CODES, hashHex, PayloadError, type DecodedEntry, type LogFormat, type Logger } from '../../../src/sdk/index.js';

export interface Position {
  topic: string;
  partition: number;
}

/**
 * Decodes one Kafka message value with the log format. A malformed value must not stop the
 * partition (it would be re-delivered forever), so it becomes a dead letter that names its position.
 */
export function decodeMessage(format: LogFormat, at: Position, message: KafkaMessage, logger: Logger): DecodedEntry[] {
  if (message.value === null || message.value.length === 0) return []; // a tombstone or empty value: no log
  const payload = message.value.toString('utf8');
  try {
    return format.decode(payload);
  } catch (err) {
    if (!(err instanceof PayloadError)) throw err;
    const where = `topic ${at.topic}, partition ${at.partition}, offset ${message.offset}`;
    logger.warn('malformed Kafka message; stored as a dead letter', { topic: at.topic, partition: at.partition, offset: message.offset, error: err.message });
    return [{
      ok: false,
      diagnostic: {
        code: CODES.entryUnreadable,
        severity: 'error',
        message: `malformed ${format.name} log in Kafka message (${where}): ${err.message}`,
        file: `kafka:${at.topic}/${at.partition}/${message.offset}`,
        ...(err.line !== undefined ? { line: err.line, column: err.column ?? 1 } : {}),
      },
      raw: payload,
      // Position plus content: a re-delivered message is recognised by the dedupe window.
      requestKey: `kafka:${at.topic}/${at.partition}/${message.offset}:${hashHex(payload, 16)}`,
    }];
  }
}
