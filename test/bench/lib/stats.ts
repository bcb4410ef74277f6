/** Small order statistics for benchmark tables (nearest-rank percentiles: no interpolation). */

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

export const median = (values: readonly number[]): number => percentile(values, 50);
export const p95 = (values: readonly number[]): number => percentile(values, 95);
export const max = (values: readonly number[]): number => (values.length === 0 ? Number.NaN : Math.max(...values));

/** A number for a Markdown cell: `n/a` for NaN, else fixed decimals. */
export function cell(value: number | undefined, digits = 0): string {
  return value === undefined || Number.isNaN(value) ? 'n/a' : value.toFixed(digits);
}

export function markdownTable(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const line = (cells: readonly string[]): string => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}
