import { existsSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import protojson from 'protobufjs/ext/protojson.js';
import type { AlsHttpEntry } from './normalize.js';

/** gRPC method Envoy calls (client-streaming). */
export const STREAM_ACCESS_LOGS = '/envoy.service.accesslog.v3.AccessLogService/StreamAccessLogs';

/** `StreamAccessLogsMessage` in proto3 JSON form (see normalize.ts for the entries). */
export interface AlsMessage {
  identifier?: { node?: { id?: string; cluster?: string; userAgentName?: string; userAgentVersion?: string }; logName?: string };
  httpLogs?: { logEntry?: AlsHttpEntry[] };
  tcpLogs?: { logEntry?: unknown[] };
}

/** The .proto files sit next to this file; from dist/ they are found in the source tree. */
function protoDir(): string {
  for (const rel of ['./proto/', '../../../../connectors/sources/envoy-als/proto/']) {
    const dir = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(dir)) return dir;
  }
  throw new Error('connectors/sources/envoy-als/proto is missing from this installation');
}

let messageType: protobuf.Type | undefined;

function streamMessageType(): protobuf.Type {
  if (!messageType) {
    const dir = protoDir();
    const root = new protobuf.Root();
    // Our imports are relative to proto/; google/protobuf/* come bundled with protobufjs.
    root.resolvePath = (_origin, target) => (isAbsolute(target) ? target : join(dir, target));
    root.loadSync('envoy/service/accesslog/v3/als.proto');
    root.resolveAll();
    messageType = root.lookupType('envoy.service.accesslog.v3.StreamAccessLogsMessage');
  }
  return messageType;
}

/** Decodes one gRPC message; throws on bytes that are not a StreamAccessLogsMessage. */
export function decodeMessage(bytes: Uint8Array): AlsMessage {
  const type = streamMessageType();
  return protojson.toJson(type, type.decode(bytes)) as AlsMessage;
}

/** Encodes a message given in proto3 JSON form (tests, and tools that replay captured logs). */
export function encodeMessage(json: unknown): Buffer {
  const type = streamMessageType();
  const bytes = type.encode(protojson.fromJson(type, json, { ignoreUnknownFields: true })).finish();
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
