/**
 * Imported first by the producer thread, so that encodeRecord replaces kafkajs's record encoder
 * before kafkajs loads there (record-encoder.ts says why).
 */
import { installRecordEncoder } from './record-encoder.js';

export const recordEncoderInstalled = installRecordEncoder();
