/** Order statistics of repeated timings. */
export interface Summary {
  medianMs: number;
  /** Median absolute deviation from the median: a spread that one outlier cannot inflate. */
  spreadMs: number;
  minMs: number;
  maxMs: number;
  reps: number;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('median of no values');
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

export function summarize(times: readonly number[]): Summary {
  const m = median(times);
  return {
    medianMs: m,
    spreadMs: median(times.map((t) => Math.abs(t - m))),
    minMs: Math.min(...times),
    maxMs: Math.max(...times),
    reps: times.length,
  };
}
