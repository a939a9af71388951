// @ts-check
// Preloaded into every data node by `npm run bench -- --stalls` (NODE_OPTIONS=--import): logs, as
// pino-shaped warn lines on stdout, every GC pause over GC_PAUSE_MS and every event-loop stall
// over STALL_MS. The bench lists warnings per section, so a lag spike or a p99 gets its cause
// beside it (a 90 ms scavenge, a 100 ms stall while the machine was busy). Plain JavaScript: it
// loads before tsx is registered. Cost: one observer and one 5 ms-resolution histogram.

import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';

const GC_PAUSE_MS = 10;
const STALL_MS = 40;
const REPORT_EVERY_MS = 500;
const GC_KINDS = { 1: 'scavenge', 2: 'mark-compact', 4: 'incremental marking', 8: 'weak callbacks', 16: 'full' };

/** @param {string} msg */
function warn(msg) {
  process.stdout.write(`${JSON.stringify({ level: 40, time: Date.now(), nodeId: process.env.NODE_ID, component: 'stall-watch', msg })}\n`);
}

new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    if (entry.duration < GC_PAUSE_MS) continue;
    const kind = /** @type {{ kind?: number }} */ entry.detail?.kind ?? 0;
    // Rounded to 10 ms so the bench's counts group alike pauses.
    warn(`gc ${GC_KINDS[/** @type {keyof typeof GC_KINDS} */ (kind)] ?? kind} pause ≥ ${Math.floor(entry.duration / 10) * 10} ms`);
  }
}).observe({ entryTypes: ['gc'] });

const delay = monitorEventLoopDelay({ resolution: 5 });
delay.enable();
setInterval(() => {
  const maxMs = delay.max / 1e6;
  if (maxMs > STALL_MS) warn(`event loop stalled ≥ ${Math.floor(maxMs / 10) * 10} ms`);
  delay.reset();
}, REPORT_EVERY_MS).unref();
