// Goal: a node's recent write latency per ack level covers the last window only, within its
// sample bound, with nearest-rank percentiles.

import { describe, expect, it } from 'vitest';
import { WriteLatencyWindow } from '../../../services/node/src/write-latency.ts';

describe('WriteLatencyWindow', () => {
  it('summarizes each ack level over the last window, bounded by its samples', () => {
    const window = new WriteLatencyWindow(1000, 100);
    for (let i = 1; i <= 100; i++) window.observe('sync', i, 10_000);
    window.observe('local', 0.5, 8_000);
    expect(window.summary(10_500)).toEqual({ sync: { count: 100, p50Ms: 50, p99Ms: 99, maxMs: 100 } });
    for (let i = 0; i < 150; i++) window.observe('all', 7, 10_000);
    expect(window.summary(10_500).all?.count).toBe(100);
    expect(window.summary(11_001)).toEqual({});
  });
});
