import { randomBytes } from 'node:crypto';
import { type Logger, type LogReader, compileEventCel, ExpressionError } from '../../../src/sdk/index.js';
import { urlProblem } from './address-guard.js';
import type { Clock } from './clock.js';
import { WebhookInputError } from './errors.js';
import { declaredSecrets, rotatedSecrets } from './secret-rotation.js';
import { generateSecret, secretProblem } from './signing.js';
import type { StoredEndpoint, WebhookStore } from './store.js';
import type { EndpointInput, WebhookEndpoint, WebhookSettings } from './types.js';

const RETIRED = 'no longer in reflex.yaml';

/** Told when an endpoint changes (delivery reloads it) or is deleted. */
export interface EndpointListener {
  changed(endpoint: StoredEndpoint): void;
  removed(id: string): void;
}

/**
 * Webhook endpoints: registered over the API or declared in reflex.yaml, validated, with their
 * signing secrets and rotation. Endpoints of reflex.yaml are changed in the file only.
 */
export class WebhookEndpoints {
  private readonly declared = new Set<string>();

  constructor(
    private readonly store: WebhookStore,
    private readonly log: LogReader,
    private readonly settings: Pick<WebhookSettings, 'allowPrivateAddresses' | 'rotationGraceMs'>,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly listener: EndpointListener,
  ) {}

  all(): StoredEndpoint[] {
    return this.store.endpoints();
  }

  list(): WebhookEndpoint[] {
    return this.store.endpoints().map(publicView);
  }

  get(id: string): (WebhookEndpoint & { counts: Record<string, number> }) | null {
    const e = this.store.endpoint(id);
    return e ? { ...publicView(e), counts: this.store.counts(id) } : null;
  }

  /** The endpoint, or a 404 for the caller. */
  mustGet(id: string): StoredEndpoint {
    const e = this.store.endpoint(id);
    if (!e) throw new WebhookInputError(`no webhook '${id}'`, '', 404);
    return e;
  }

  /** Registers an endpoint; the answer is the only place its secret is shown. */
  create(input: EndpointInput): WebhookEndpoint & { secret: string } {
    const id = 'ep_' + randomBytes(10).toString('hex');
    const secret = this.insert(id, input, 'api');
    return { ...publicView(this.store.endpoint(id)!), secret };
  }

  /** A `type: webhook` block of reflex.yaml: created, or brought in line with the file. */
  declare(id: string, input: EndpointInput): void {
    this.declared.add(id);
    const existing = this.store.endpoint(id);
    if (!existing) {
      this.insert(id, input, 'config');
      return;
    }
    if (existing.origin !== 'config') throw new Error(`webhook '${id}' from reflex.yaml clashes with an endpoint registered over the API`);
    this.validate(input);
    const now = this.clock.now();
    const secrets = declaredSecrets(existing.secrets, input.secret!, now);
    this.store.updateEndpoint(id, { url: input.url, streams: input.streams, types: input.types ?? null, filter: input.filter ?? null, description: input.description ?? null, secrets }, now);
    this.initCursors(id, input.streams);
    if (!existing.enabled && existing.disabledReason === RETIRED) this.store.setEnabled(id, true, null, now);
    this.listener.changed(this.store.endpoint(id)!);
  }

  /** After the config's endpoints are declared: ones declared before but gone from the file are disabled. */
  retireUndeclared(): void {
    for (const e of this.store.endpoints()) {
      if (e.origin === 'config' && !this.declared.has(e.id) && e.enabled) this.setEnabled(e.id, false, RETIRED);
    }
  }

  update(id: string, patch: Partial<EndpointInput>): WebhookEndpoint {
    const e = this.mustGet(id);
    if (e.origin === 'config' && Object.keys(patch).some((k) => k !== 'enabled')) {
      throw new WebhookInputError(`webhook '${id}' is declared in reflex.yaml; change it there (only "enabled" can be set here)`, '', 409);
    }
    const merged: EndpointInput = {
      url: patch.url ?? e.url,
      streams: patch.streams ?? e.streams,
      types: patch.types !== undefined ? patch.types : e.types,
      filter: patch.filter !== undefined ? patch.filter : e.filter,
      description: patch.description !== undefined ? patch.description : e.description,
    };
    this.validate(merged);
    if (patch.secret !== undefined) throw new WebhookInputError('use POST /webhooks/{id}/rotate-secret to change the secret', '/secret');
    this.store.updateEndpoint(id, { ...merged, types: merged.types ?? null, filter: merged.filter ?? null, description: merged.description ?? null, secrets: e.secrets }, this.clock.now());
    if (patch.streams) this.initCursors(id, merged.streams);
    if (patch.enabled !== undefined && patch.enabled !== e.enabled) this.setEnabled(id, patch.enabled, 'disabled over the API');
    this.listener.changed(this.store.endpoint(id)!);
    return publicView(this.store.endpoint(id)!);
  }

  delete(id: string): void {
    const e = this.mustGet(id);
    if (e.origin === 'config') throw new WebhookInputError(`webhook '${id}' is declared in reflex.yaml; remove it there`, '', 409);
    this.listener.removed(id);
    this.store.deleteEndpoint(id);
  }

  /** A new secret signs from now on; the old one keeps signing beside it for the grace period. */
  rotateSecret(id: string, secret?: string): { secret: string; previousValidUntil: string } {
    const e = this.mustGet(id);
    if (e.origin === 'config') throw new WebhookInputError(`webhook '${id}' is declared in reflex.yaml; change its secret there`, '', 409);
    if (secret !== undefined) {
      const problem = secretProblem(secret);
      if (problem) throw new WebhookInputError(problem, '/secret');
    }
    const next = secret ?? generateSecret();
    const now = this.clock.now();
    const until = now + this.settings.rotationGraceMs;
    this.store.setSecrets(id, rotatedSecrets(e.secrets, next, now, until), now);
    this.listener.changed(this.store.endpoint(id)!);
    return { secret: next, previousValidUntil: new Date(until).toISOString() };
  }

  /** Enables or disables an endpoint (over the API, by its health, or when gone from reflex.yaml), and logs it. */
  setEnabled(id: string, enabled: boolean, reason: string): void {
    this.store.setEnabled(id, enabled, reason, this.clock.now());
    if (!enabled) this.logger.warn('webhook endpoint disabled', { webhook: id, reason });
    else this.logger.info('webhook endpoint enabled', { webhook: id });
    const e = this.store.endpoint(id);
    if (e) this.listener.changed(e);
  }

  private validate(input: EndpointInput): void {
    if (typeof input.url !== 'string') throw new WebhookInputError('url is required', '/url');
    const problem = urlProblem(input.url, this.settings.allowPrivateAddresses);
    if (problem) throw new WebhookInputError(problem, '/url');
    if (!Array.isArray(input.streams) || input.streams.length === 0) throw new WebhookInputError('streams lists the streams to deliver (or "*")', '/streams');
    input.streams.forEach((s, i) => {
      if (s !== '*' && !this.log.hasStream(s)) {
        throw new WebhookInputError(`no stream named '${s}' (streams: ${this.log.streamNames().sort().join(', ')})`, `/streams/${i}`);
      }
    });
    if (input.filter) {
      try {
        compileEventCel(input.filter);
      } catch (err) {
        const e = err as ExpressionError;
        throw new WebhookInputError(`filter: ${e.message}${e instanceof ExpressionError && e.offset !== undefined ? ` (at character ${e.offset})` : ''}`, '/filter');
      }
    }
    if (input.secret !== undefined && input.secret !== null) {
      const p = secretProblem(input.secret);
      if (p) throw new WebhookInputError(p, '/secret');
    }
  }

  private insert(id: string, input: EndpointInput, origin: 'api' | 'config'): string {
    this.validate(input);
    const secret = input.secret ?? generateSecret();
    this.store.insertEndpoint(id, {
      url: input.url, streams: input.streams, types: input.types ?? null, filter: input.filter ?? null,
      description: input.description ?? null, enabled: input.enabled ?? true,
    }, [{ secret, expiresAt: null }], origin, this.clock.now());
    // A new endpoint gets what happens from now on; replay reaches back further.
    this.initCursors(id, input.streams);
    this.listener.changed(this.store.endpoint(id)!);
    return secret;
  }

  private initCursors(id: string, streams: string[]): void {
    const names = streams.includes('*') ? this.log.streamNames() : streams;
    for (const stream of names) {
      if (this.store.cursor(id, stream) === null) this.store.setCursor(id, stream, this.log.lastOffset(stream));
    }
  }
}

/** An endpoint as the API shows it: never its secrets. */
function publicView(e: StoredEndpoint): WebhookEndpoint {
  const { secrets: _secrets, ...rest } = e;
  return rest;
}
