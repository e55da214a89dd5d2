/** Formatting for the printed report; no measuring here. */

export function num(n: number, digits = 0): string {
  return Number.isFinite(n) ? n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : 'n/a';
}

export function pct(share: number | null): string {
  return share === null ? 'n/a' : `${Math.round(share * 100)}%`;
}

export function ms(v: number): string {
  return Number.isFinite(v) ? `${v.toFixed(1)} ms` : 'n/a';
}

export interface Verdict {
  name: string;
  pass: boolean;
  detail: string;
}

export function verdict(name: string, pass: boolean, detail: string): Verdict {
  return { name, pass, detail };
}

export function mark(v: Verdict): string {
  return v.pass ? 'PASS' : 'MISS';
}

/** Left-aligned first column, right-aligned others. */
export function table(rows: string[][], indent = '    '): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows
    .map((r) => indent + r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('   ').trimEnd())
    .join('\n');
}

export function section(title: string): string {
  return `\n${title}\n${'-'.repeat(title.length)}`;
}
