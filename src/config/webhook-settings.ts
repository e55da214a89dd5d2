import { defaultConfig, type ReflexConfig } from './types.js';

/** The `webhooks:` block of reflex.yaml as the webhook connector's service reads it (durations in ms). */
export type WebhookSettings = ReflexConfig['webhooks'];

/** Every key of the block at its schema default (tests, bench). */
export const DEFAULT_WEBHOOK_SETTINGS: WebhookSettings = defaultConfig().webhooks;
