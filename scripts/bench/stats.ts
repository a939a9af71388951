// Latency statistics: percentiles by the nearest-rank method on the raw samples (no histogram
// buckets, so no bucket error), and rounding for display. Pure; unit-tested.

export interface LatencySummary {
  count: number;
  meanMs: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
}

// Nearest rank: the smallest sample with at least p % of the samples at or below it. NaN for none.
export function percentile(sortedAscending: readonly number[], p: number): number {
  if (sortedAscending.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sortedAscending.length);
  return sortedAscending[Math.min(sortedAscending.length, Math.max(1, rank)) - 1] as number;
}

export function summarize(samplesMs: readonly number[]): LatencySummary {
  const sorted = Float64Array.from(samplesMs).sort();
  const values = Array.from(sorted);
  const sum = values.reduce((total, value) => total + value, 0);
  return {
    count: values.length,
    meanMs: values.length === 0 ? Number.NaN : round(sum / values.length, 3),
    p50Ms: round(percentile(values, 50), 3),
    p90Ms: round(percentile(values, 90), 3),
    p99Ms: round(percentile(values, 99), 3),
    maxMs: round(values.at(-1) ?? Number.NaN, 3),
  };
}

export function round(value: number, digits = 2): number {
  if (!Number.isFinite(value)) return value;
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

// A ratio of two figures, rounded for printing; NaN when either is missing or the divisor is 0.
export function ratio(numerator: number, denominator: number): number {
  if (!Number.isFinite(numerator) || !Number.isFinite(denominator) || denominator === 0) return Number.NaN;
  return round(numerator / denominator, 2);
}

// A clock shared by every process on this machine, in ms with sub-ms resolution: each process's
// timeOrigin is read from the same system clock, so differences across processes are meaningful
// to well under a millisecond (the bench uses it only for spans of tens of ms and more).
export function wallMs(): number {
  return performance.timeOrigin + performance.now();
}
