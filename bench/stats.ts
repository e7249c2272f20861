// Summaries of samples and the ratios the report shows. Pure: no I/O.

export interface Summary {
  median: number;
  p10: number;
  p90: number;
  n: number;
}

/** Linear interpolation between the two nearest ranks (p in 0..1). */
const quantile = (sorted: readonly number[], p: number): number => {
  const at = p * (sorted.length - 1);
  const lo = Math.floor(at);
  const hi = Math.ceil(at);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (at - lo);
};

export const summarize = (samples: readonly number[]): Summary | null => {
  const s = samples.filter(Number.isFinite).sort((a, b) => a - b);
  if (s.length === 0) return null;
  return { median: quantile(s, 0.5), p10: quantile(s, 0.1), p90: quantile(s, 0.9), n: s.length };
};

/** a / b of the medians, null when either is missing or b is zero. */
export const ratio = (a: Summary | null, b: Summary | null): number | null => (a && b && b.median > 0 ? a.median / b.median : null);

/** The lowest median among the peers that were measured (every measure here is "less is better"). */
export const best = (peers: readonly (Summary | null)[]): Summary | null =>
  peers.reduce<Summary | null>((acc, s) => (s && (!acc || s.median < acc.median) ? s : acc), null);

/** Three significant digits (at most three decimals), no exponent: 0.097, 4.22, 118, 3421. */
export const num = (x: number): string => {
  if (x === 0) return '0';
  const digits = Math.max(0, 2 - Math.floor(Math.log10(Math.abs(x))));
  return x.toFixed(Math.min(digits, 3));
};

/** "22 (9–31)": median, then p10–p90 when there is a spread to show. */
export const cell = (s: Summary | null): string => {
  if (!s) return '-';
  return s.n > 1 && s.p10 !== s.p90 ? `${num(s.median)} (${num(s.p10)}–${num(s.p90)})` : num(s.median);
};

export const times = (r: number | null): string => (r === null ? '-' : `${r.toFixed(2)}x`);
