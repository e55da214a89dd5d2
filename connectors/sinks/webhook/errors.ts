/** A request the caller got wrong; `field` is a JSON pointer into the request body or query. */
export class WebhookInputError extends Error {
  constructor(
    message: string,
    readonly field: string,
    readonly status = 400,
  ) {
    super(message);
    this.name = 'WebhookInputError';
  }
}
