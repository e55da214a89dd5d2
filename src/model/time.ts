import { fullFormats } from 'ajv-formats/dist/formats.js';

type Validate = (value: string) => boolean;
const isDateTime = (fullFormats['date-time'] as { validate: Validate }).validate;

/**
 * Milliseconds of an RFC 3339 date-time (a real calendar date, a time and an offset), or null.
 * Date.parse alone takes "0" and rolls 2020-02-30 over into March; ajv-formats' date-time check
 * (the one JSON Schema `format: date-time` uses) refuses both. A leap second (…:60) passes that
 * check but not Date, so it is refused too.
 */
export function parseRfc3339(value: string): number | null {
  if (!isDateTime(value)) return null;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? null : ms;
}
