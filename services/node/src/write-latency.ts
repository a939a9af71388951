// Recent write latency per ack level, for /status (and so for control's status events and the
// dashboard's latency chart): how many writes each level acknowledged in the last window and
// their median, 99th percentile and slowest. The Prometheus histogram (metrics.ts) counts since
// the start; this answers "what is it like right now" without a scraper.
//
// Bounded: at most `samplesMax` samples per level, in a ring (past that many writes per window,
// the summary covers the newest ones).

export interface LatencySummary {
  count: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

interface Ring {
  atMs: Float64Array;
  ms: Float64Array;
  next: number;
  size: number;
}

export class WriteLatencyWindow {
  private readonly levels = new Map<string, Ring>();

  constructor(
    private readonly windowMs: number,
    private readonly samplesMax: number,
  ) {}

  // One write acknowledged at ack level `level` (local, sync, all, or a count) after `ms`.
  observe(level: string, ms: number, nowMs = Date.now()): void {
    let ring = this.levels.get(level);
    if (!ring) {
      ring = { atMs: new Float64Array(this.samplesMax), ms: new Float64Array(this.samplesMax), next: 0, size: 0 };
      this.levels.set(level, ring);
    }
    ring.atMs[ring.next] = nowMs;
    ring.ms[ring.next] = ms;
    ring.next = (ring.next + 1) % this.samplesMax;
    ring.size = Math.min(ring.size + 1, this.samplesMax);
  }

  // Per ack level with writes in the last window; levels without any are left out.
  summary(nowMs = Date.now()): Record<string, LatencySummary> {
    const out: Record<string, LatencySummary> = {};
    for (const [level, ring] of this.levels) {
      const recent: number[] = [];
      for (let i = 0; i < ring.size; i++) {
        if (nowMs - (ring.atMs[i] as number) <= this.windowMs) recent.push(ring.ms[i] as number);
      }
      if (recent.length === 0) continue;
      recent.sort((a, b) => a - b);
      out[level] = { count: recent.length, p50Ms: round(quantile(recent, 0.5)), p99Ms: round(quantile(recent, 0.99)), maxMs: round(recent[recent.length - 1] as number) };
    }
    return out;
  }
}

// Nearest-rank quantile of sorted values.
function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] as number;
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
