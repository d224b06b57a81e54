/**
 * Numbers as en-US text ("12,800", "3.2", "0.393") without Intl or toLocaleString: the first of those in a process
 * loads ICU's data, nearly 1 MB of C heap, which a check in progress (a progress line between rounds) would measure
 * as the function's growth.
 */
export function formatNumber(value: number, maxFractionDigits = 3): string {
  if (Number.isNaN(value)) return 'NaN';
  if (!Number.isFinite(value)) return value > 0 ? '∞' : '-∞';
  const [whole, fraction = ''] = Math.abs(value).toFixed(maxFractionDigits).split('.');
  const digits = fraction.replace(/0+$/, '');
  const text = whole.replace(/\B(?=(\d{3})+$)/g, ',') + (digits ? `.${digits}` : '');
  return value < 0 && /[1-9]/.test(text) ? `-${text}` : text;
}

/** Bytes per call: three significant digits below 1,000 ("32 B/call", "3.2 B/call", "0.0427 B/call"), whole ones
 * with thousands separated above ("1,235 B/call"). */
export function formatRate(bytesPerCall: number): string {
  const rounded = Math.abs(bytesPerCall) >= 1000 ? formatNumber(Math.round(bytesPerCall)) : String(Number(bytesPerCall.toPrecision(3)));
  return `${rounded} B/call`;
}

/** The middle value of a non-empty list (the upper of the two middle ones when its length is even). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}
