/** Small statistics helpers. */

/** The median of a list (mean of the two middle values for even lengths); NaN when empty. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** The q-quantile (0..1) of a sorted typed array's first `n` values, nearest rank. */
export function quantileSorted(sorted: Float64Array, n: number, q: number): number {
  if (n === 0) return Number.NaN;
  const rank = Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1));
  return sorted[rank]!;
}

/** Latency figures of a sample (ms). */
export interface LatencySummary {
  n: number;
  p50: number;
  p99: number;
  max: number;
}

/** Summarize the first `n` samples of `samples` (sorted in place). */
export function summarizeLatency(samples: Float64Array, n: number): LatencySummary {
  const view = samples.subarray(0, n).sort();
  return {
    n,
    p50: quantileSorted(view, n, 0.5),
    p99: quantileSorted(view, n, 0.99),
    max: n ? view[n - 1]! : Number.NaN,
  };
}

/** A growable sample buffer with a cap (samples past the cap are counted, not kept). */
export class Samples {
  private buf = new Float64Array(1024);
  n = 0;
  dropped = 0;

  constructor(private readonly cap = 8_000_000) {}

  push(v: number): void {
    if (this.n === this.buf.length) {
      if (this.n >= this.cap) {
        this.dropped += 1;
        return;
      }
      const next = new Float64Array(Math.min(this.cap, this.buf.length * 2));
      next.set(this.buf);
      this.buf = next;
    }
    this.buf[this.n++] = v;
  }

  reset(): void {
    this.n = 0;
    this.dropped = 0;
  }

  summary(): LatencySummary {
    return summarizeLatency(this.buf, this.n);
  }
}
