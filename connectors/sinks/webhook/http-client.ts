import { isIP } from 'node:net';
import { Agent } from 'undici';
import { ForbiddenAddressError, guardedLookup, isForbiddenAddress } from './address-guard.js';
import type { PostResult } from './outcome.js';
import { RequestDeadlines } from './request-deadlines.js';
import type { Signing } from './signing.js';

export interface ClientOptions {
  allowPrivateAddresses: boolean;
  timeoutMs: number;
  /** Response bodies are read up to this many bytes (for the delivery log), the rest is dropped. */
  maxResponseBytes: number;
  /** Keep-alive connections per endpoint. */
  connections: number;
}

/** What the delivery scheduler needs of a client (tests give it a fake one). */
export interface Poster {
  post(url: URL, headers: Record<string, string>, body: string): Promise<PostResult>;
  /**
   * Signs and posts (the headers are signedHeaders'), where the client can do both off the main
   * thread. Rejects when the delivery's outcome is unknown for a reason of reflex's own (the thread
   * that sent it died): the message was not attempted as far as its endpoint's record goes.
   */
  postSigned?(url: URL, signing: Signing, body: string): Promise<PostResult>;
  close(): Promise<void>;
}

/**
 * One keep-alive pool per webhook endpoint (undici Agent). Redirects are not followed (undici's
 * default): a 3xx is a failed attempt like any other non-2xx.
 */
export class EndpointClient implements Poster {
  private readonly agent: Agent;
  private readonly deadlines: RequestDeadlines;

  constructor(private readonly options: ClientOptions) {
    this.deadlines = new RequestDeadlines(options.timeoutMs);
    this.agent = new Agent({
      connections: options.connections,
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
      connect: {
        timeout: options.timeoutMs,
        ...(options.allowPrivateAddresses ? {} : { lookup: guardedLookup }),
      },
    });
  }

  async post(url: URL, headers: Record<string, string>, body: string): Promise<PostResult> {
    const started = performance.now();
    const elapsed = () => Math.round((performance.now() - started) * 10) / 10;
    // IP literals never go through DNS, so the lookup guard does not see them.
    const host = url.hostname.replace(/^\[|\]$/g, '');
    if (!this.options.allowPrivateAddresses && isIP(host) && isForbiddenAddress(host)) {
      return { kind: 'address-refused', latencyMs: 0, error: new ForbiddenAddressError(host, host).message };
    }
    const signal = this.deadlines.start();
    try {
      const response = await this.agent.request({
        origin: url.origin,
        path: url.pathname + url.search,
        method: 'POST',
        headers,
        body,
        signal,
      });
      const responseBody = await readCapped(response.body, this.options.maxResponseBytes);
      const status = response.statusCode;
      if (status >= 200 && status < 300) return { kind: 'delivered', status, latencyMs: elapsed(), responseBody };
      const retryAfter = response.headers['retry-after'];
      return { kind: 'failed-status', status, retryAfter: (Array.isArray(retryAfter) ? retryAfter[0] : retryAfter) ?? null, latencyMs: elapsed(), responseBody };
    } catch (err) {
      return failure(err as Error & { code?: string; cause?: Error & { code?: string } }, elapsed());
    } finally {
      this.deadlines.finish(signal);
    }
  }

  close(): Promise<void> {
    this.deadlines.close();
    return this.agent.close();
  }
}

async function readCapped(body: AsyncIterable<Buffer> & { destroy(): void }, cap: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const room = cap - size;
    if (room > 0) chunks.push(chunk.length > room ? chunk.subarray(0, room) : chunk);
    size += chunk.length;
    if (size >= cap) {
      body.destroy();
      break;
    }
  }
  return Buffer.concat(chunks).toString('utf8');
}

function failure(err: Error & { code?: string; cause?: Error & { code?: string } }, latencyMs: number): PostResult {
  const cause = err.cause;
  if (cause instanceof ForbiddenAddressError) return { kind: 'address-refused', error: cause.message, latencyMs };
  if (err instanceof ForbiddenAddressError) return { kind: 'address-refused', error: err.message, latencyMs };
  if (err.name === 'TimeoutError' || err.name === 'AbortError') return { kind: 'timeout', latencyMs };
  const code = err.code ?? cause?.code;
  const message = cause?.message ?? err.message;
  return { kind: 'network-error', error: code && !message.includes(code) ? `${code}: ${message}` : message, latencyMs };
}
