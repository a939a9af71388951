// Goal: the bench's arithmetic and verdicts are right without running a cluster: nearest-rank
// percentiles, the command line, every target's met / not met / n/a, and a table that prints the
// ratios side by side and says n/a (not a failure) for features this build lacks. The bench
// itself (real processes, minutes) is not run in CI; `npm run bench -- --quick` is.

import { describe, expect, it } from 'vitest';
import { parseArgs, profiles, SECTION_NAMES } from '../../../scripts/bench/options.ts';
import { renderReport } from '../../../scripts/bench/report.ts';
import type { BenchResults, WriteRow } from '../../../scripts/bench/results.ts';
import { mergeSlices } from '../../../scripts/bench/sections/writes.ts';
import { percentile, summarize } from '../../../scripts/bench/stats.ts';
import { evaluateTargets } from '../../../scripts/bench/targets.ts';

const latency = (p50Ms: number, p99Ms = p50Ms * 3) => ({ count: 100, meanMs: p50Ms, p50Ms, p90Ms: p99Ms, p99Ms, maxMs: p99Ms });
const writeRow = (ack: string, clients: number, throughputPerS: number, p50Ms: number): WriteRow => ({
  ack, clients, throughputPerS, latency: latency(p50Ms), p50SplitMs: { local: p50Ms / 2, copies: 0, outside: p50Ms / 2 }, errors: {}, cpuPercent: { primary: 50, client: 20 },
});

function results(overrides: Partial<BenchResults['sections']> = {}): BenchResults {
  return {
    meta: {
      startedAt: '2026-01-01T00:00:00.000Z', profile: 'quick', durationS: 100, node: 'v20.19.0', platform: 'linux', cpus: 2,
      cpuModel: 'test cpu', memoryGiB: 4, loadAverageAtStart: 0, foreignNodeProcesses: 0, foreignCpuPercent: 3, settings: { FAILOVER_TIMEOUT_MS: '1500' }, profiledNode: null,
    },
    sections: {
      baselines: { status: 'ok', data: { loopbackRtt: latency(0.1), nodeHealthRtt: latency(0.2), fsync: latency(0.5), fsyncConcurrent: latency(0.9), fsyncConcurrentWriters: 4, fsyncBytes: 100 } },
      writes: {
        status: 'ok',
        data: {
          valueBytes: 100,
          durationMs: 3000,
          rounds: 3,
          rows: [
            writeRow('local', 1, 1000, 1.0), writeRow('sync', 1, 600, 1.5), writeRow('all', 1, 400, 2.5),
            writeRow('local', 64, 10_000, 6), writeRow('sync', 64, 8300, 7), writeRow('all', 64, 5000, 12),
          ],
        },
      },
      injection: { status: 'n/a', reason: 'fault injection not available' },
      lag: {
        status: 'ok',
        data: {
          localThroughputPerS: 10_000, targetRatePerS: 5000, achievedRatePerS: 4990, lateStarts: 0, writeLatency: latency(1), writeErrors: {}, probesPerCopy: 500,
          copies: { 'replica-1': { lag: latency(2, 8), readRtt: latency(0.3), timeouts: 0, failures: 0, worst: [] }, 'replica-2': { lag: latency(3, 25), readRtt: latency(0.3), timeouts: 0, failures: 0, worst: [] } },
        },
      },
      catchup: {
        status: 'ok',
        data: {
          copy: 'replica-1',
          partial: { amount: 100_000, seconds: 1.6, perS: 62_500, secondsFromSpawn: 2.5, resync: 'partial', lowerBound: false },
          full: { amount: 100_000, seconds: 2.5, perS: 40_000, secondsFromSpawn: 3.4, resync: 'full', lowerBound: false },
        },
      },
      failover: { status: 'n/a', reason: 'no automatic failover' },
      ...overrides,
    },
    notes: [],
  };
}

describe('bench statistics', () => {
  it('takes nearest-rank percentiles', () => {
    const values = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(values, 50)).toBe(50);
    expect(percentile(values, 99)).toBe(99);
    expect(percentile(values, 100)).toBe(100);
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([], 50)).toBeNaN();
  });

  it('summarizes unsorted samples', () => {
    const summary = summarize([5, 1, 4, 2, 3]);
    expect(summary).toMatchObject({ count: 5, p50Ms: 3, maxMs: 5, meanMs: 3 });
  });
});

describe('bench write slices', () => {
  it('merges interleaved slices: writes over total time, percentiles over all samples, CPU averaged', () => {
    const slice = (writesOk: number, samplesMs: number[], primary: number | null) => ({
      writesOk, elapsedMs: 1000, samplesMs, split: { localMs: samplesMs.map((v) => v / 2), syncMs: samplesMs.map(() => 0), outsideMs: samplesMs.map((v) => v / 2) },
      errors: { http_503: 1 }, cpuPercent: { primary, client: 10 },
    });
    const row = mergeSlices('sync', 64, [slice(100, [1, 2, 3], 40), slice(300, [4, 5, 6, 7], null), slice(200, [8, 9, 10], 60)]);
    expect(row).toMatchObject({ ack: 'sync', clients: 64, throughputPerS: 200, errors: { http_503: 3 }, cpuPercent: { primary: 50, client: 10 } });
    expect(row.latency).toMatchObject({ count: 10, p50Ms: 5, maxMs: 10 });
    expect(row.p50SplitMs).toEqual({ local: 2.5, copies: 0, outside: 2.5 });
  });
});

describe('bench command line', () => {
  it('defaults to the full run of every section', () => {
    const parsed = parseArgs([]);
    expect(parsed.ok && parsed.options.profile).toBe(profiles.full);
    expect(parsed.ok && parsed.options.sections).toEqual([...SECTION_NAMES]);
  });

  it('takes --quick, --json, --only, --profile and --stalls', () => {
    const parsed = parseArgs(['--quick', '--json', 'out.json', '--only', 'lag,writes', '--profile', 'primary', '--stalls']);
    expect(parsed).toEqual({ ok: true, options: { profile: profiles.quick, jsonPath: 'out.json', sections: ['writes', 'lag'], profileNode: 'primary', watchStalls: true } });
  });

  it('refuses unknown options and sections, and a flag without its value', () => {
    expect(parseArgs(['--fast'])).toEqual({ ok: false, problem: 'unknown option --fast' });
    expect(parseArgs(['--only', 'speed'])).toMatchObject({ ok: false, problem: expect.stringContaining('unknown section speed') });
    expect(parseArgs(['--json'])).toEqual({ ok: false, problem: '--json needs a value' });
    expect(parseArgs(['--profile', 'control'])).toMatchObject({ ok: false, problem: expect.stringContaining('data node id') });
  });
});

describe('bench targets', () => {
  it('says met, not met, or n/a for each target', () => {
    const checks = Object.fromEntries(evaluateTargets(results()).map((c) => [c.name, c]));
    expect(checks['throughput sync/local at 64 clients']).toMatchObject({ figure: '0.83', met: true });
    // sync-local gap 0.5 ms <= RTT 0.1 + fsync 0.5
    expect(checks['p50 sync−local at 1 client']).toMatchObject({ met: true });
    expect(checks['injected 50 ms: added p50']).toMatchObject({ met: null, figure: 'n/a (fault injection not available)' });
    // the worse replica decides: p99 25 ms > 20 ms
    expect(checks['async replica lag p99 at half load']).toMatchObject({ met: false, figure: expect.stringContaining('replica-2') });
    expect(checks['failover time p50']).toMatchObject({ met: null, figure: 'n/a (no automatic failover)' });
    expect(checks['catch-up by partial resync']).toMatchObject({ met: true });
  });

  it('judges injected latency within ±(10 % + 2 ms)', () => {
    const row = (injectedMs: number, addedP50Ms: number) => ({
      injectedMs, writes: 20, baselineP50Ms: 1, p50Ms: 1 + addedP50Ms, addedP50Ms, errorMs: addedP50Ms - injectedMs, ruleVisibleInStatus: true,
    });
    const checks = evaluateTargets(results({ injection: { status: 'ok', data: { rows: [row(50, 56.9), row(200, 223)] } } }));
    expect(checks.find((c) => c.name === 'injected 50 ms: added p50')?.met).toBe(true);
    expect(checks.find((c) => c.name === 'injected 200 ms: added p50')?.met).toBe(false);
  });

  it('compares failover p50 with FAILOVER_TIMEOUT_MS + 500 ms', () => {
    const kill = (failoverMs: number) => ({ killed: 'primary', newPrimary: 'mirror', epochBefore: 1, epochAfter: 2, failoverMs, rejoinMs: 900 });
    const data = { failoverTimeoutMs: 1500, kills: [kill(1700), kill(2100), kill(1900)], p50Ms: 1900, maxMs: 2100, writerErrors: {}, notes: [] };
    const check = evaluateTargets(results({ failover: { status: 'ok', data } })).find((c) => c.name === 'failover time p50');
    expect(check).toMatchObject({ met: true, bound: expect.stringContaining('2000 ms') });
  });
});

describe('bench table', () => {
  it('prints ratios side by side, n/a rows, and every target with its verdict', () => {
    const text = renderReport(results(), evaluateTargets(results()));
    expect(text).toContain('throughput sync/local = 0.83 at 64 clients, 0.60 at 1 client');
    expect(text).toContain('throughput all/local = 0.50 at 64 clients, 0.40 at 1 client');
    expect(text).toContain('n/a (fault injection not available)');
    expect(text).toContain('n/a (no automatic failover)');
    expect(text).toContain('FAILOVER_TIMEOUT_MS = 1500');
    expect(text).toMatch(/async replica lag p99 at half load\s+25\.0 ms \(replica-2\)\s+≤ 20 ms\s+NOT MET/);
  });

  it('marks a broken section without hiding the others', () => {
    const text = renderReport(results({ lag: { status: 'broken', error: 'Error: no write succeeded\n    at stack' } }), []);
    expect(text).toContain('BROKEN: Error: no write succeeded');
    expect(text).not.toContain('at stack');
    expect(text).toContain('partial resync');
  });
});
