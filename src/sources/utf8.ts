/** Bytes as text, as Fastify decodes a body: invalid UTF-8 becomes U+FFFD. */
export function utf8(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
}
