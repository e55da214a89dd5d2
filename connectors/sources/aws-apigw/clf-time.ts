const MONTHS: Record<string, number> = { Jan: 0, Feb: 1, Mar: 2, Apr: 3, May: 4, Jun: 5, Jul: 6, Aug: 7, Sep: 8, Oct: 9, Nov: 10, Dec: 11 };

const CLF = /^(\d{2})\/([A-Z][a-z]{2})\/(\d{4}):(\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})$/;

/**
 * Milliseconds since the epoch of a Common Log Format time (`21/Apr/2022:17:09:26 +0000`, what
 * API Gateway's `$context.requestTime` gives), or null when it is not one or names no real
 * calendar time (31/Feb, 25:00, an offset past ±23:59).
 */
export function parseClfTime(text: string): number | null {
  const m = CLF.exec(text);
  if (!m) return null;
  const [, dd, mon, yyyy, hh, mi, ss, sign, oh, om] = m;
  const month = MONTHS[mon!];
  if (month === undefined) return null;
  const day = Number(dd), year = Number(yyyy), hours = Number(hh), minutes = Number(mi), seconds = Number(ss);
  if (hours > 23 || minutes > 59 || seconds > 59 || Number(oh) > 23 || Number(om) > 59) return null;
  const date = new Date(0);
  date.setUTCFullYear(year, month, day);
  // Date rolls 31/Feb over into March: a day that does not exist in its month is refused.
  if (date.getUTCDate() !== day || date.getUTCMonth() !== month) return null;
  const offsetMs = (sign === '-' ? -1 : 1) * (Number(oh) * 60 + Number(om)) * 60_000;
  return date.getTime() + ((hours * 60 + minutes) * 60 + seconds) * 1000 - offsetMs;
}
