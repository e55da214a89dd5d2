import { API_CODES, ReflexError } from '../../../src/sdk/index.js';

/** A request the caller got wrong; `field` is a JSON pointer into the request body or query. */
export class WebhookInputError extends ReflexError {
  constructor(
    message: string,
    readonly field: string,
    status = 400,
  ) {
    super(API_CODES.webhookRequest, message, { status, ...(field ? { pointer: field } : {}) });
  }

  override answerBody(): Record<string, unknown> {
    return { error: this.message, ...(this.field ? { field: this.field } : {}) };
  }
}
