/** The label value that stands for every value past the limit. */
export const OTHER_LABEL = 'other';

/**
 * Label values taken from traffic (gateway routes, webhook endpoints) with a bound on how many
 * distinct ones a metric keeps: the first `limit` seen get a series each, every later one is
 * counted under `other`, so a scanner walking random paths cannot grow the scrape without end.
 */
export class BoundedLabels {
  private readonly kept = new Set<string>();

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`a label bound must be a positive integer, got ${limit}`);
  }

  /** `value` itself while it is among the first `limit` values seen, else `other`. */
  label(value: string): string {
    if (this.kept.has(value)) return value;
    if (this.kept.size >= this.limit) return OTHER_LABEL;
    this.kept.add(value);
    return value;
  }
}
