/**
 * Bodies are parsed as JSON only when the content type says JSON (`application/json`, `+json`);
 * otherwise they stay strings. An empty body is null. A JSON content type with a body that does not
 * parse (truncated by the gateway, say) stays a string rather than failing the exchange.
 */
export function isJsonContentType(contentType: string | undefined | null): boolean {
  if (!contentType) return false;
  const semi = contentType.indexOf(';');
  const mime = (semi === -1 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
  return mime === 'application/json' || mime.endsWith('+json');
}

export function normalizeBody(value: unknown, contentType: string | undefined | null): unknown {
  if (value === undefined || value === null || value === '') return null;
  if (typeof value !== 'string') return value; // already parsed by the gateway plugin
  if (!isJsonContentType(contentType)) return value;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return value;
  }
}

export function decodeBase64Body(value: string): string {
  return Buffer.from(value, 'base64').toString('utf8');
}
