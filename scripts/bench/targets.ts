// The targets of issue 9, evaluated against one run's results: reported, never asserted (a slow
// machine must not fail CI). Pure; unit-tested. Each target says its figure, its bound and
// whether the figure meets it (null: not measured in this run, or n/a).

import { findRow, type BenchResults } from './results.ts';
import { fmtInt, fmtMs, fmtRatio } from './format.ts';
import { ratio, round } from './stats.ts';

export interface TargetCheck {
  name: string;
  figure: string;
  bound: string;
  met: boolean | null;
}

const SYNC_LOCAL_THROUGHPUT_MIN = 0.8;
const INJECTION_TOLERANCE_SHARE = 0.1;
const INJECTION_TOLERANCE_MS = 2;
const LAG_P99_MS_MAX = 20;
const FAILOVER_MARGIN_MS = 500;
const CATCH_UP_PER_S_MIN = 50_000;

export function injectionToleranceMs(injectedMs: number): number {
  return round(injectedMs * INJECTION_TOLERANCE_SHARE + INJECTION_TOLERANCE_MS, 2);
}

const unmeasured = (name: string, bound: string, why: string): TargetCheck => ({ name, figure: why, bound, met: null });

export function evaluateTargets(results: BenchResults): TargetCheck[] {
  const s = results.sections;
  const checks: TargetCheck[] = [];

  const writes = s.writes?.status === 'ok' ? s.writes.data : undefined;
  const syncLocal = ratio(findRow(writes, 'sync', 64)?.throughputPerS ?? Number.NaN, findRow(writes, 'local', 64)?.throughputPerS ?? Number.NaN);
  checks.push(
    Number.isNaN(syncLocal)
      ? unmeasured('throughput sync/local at 64 clients', `≥ ${SYNC_LOCAL_THROUGHPUT_MIN}`, 'not measured')
      : { name: 'throughput sync/local at 64 clients', figure: fmtRatio(syncLocal), bound: `≥ ${SYNC_LOCAL_THROUGHPUT_MIN}`, met: syncLocal >= SYNC_LOCAL_THROUGHPUT_MIN },
  );

  const base = s.baselines?.status === 'ok' ? s.baselines.data : undefined;
  const local1 = findRow(writes, 'local', 1);
  const sync1 = findRow(writes, 'sync', 1);
  if (base && local1 && sync1) {
    const gap = round(sync1.latency.p50Ms - local1.latency.p50Ms, 2);
    const floor = round(base.loopbackRtt.p50Ms + base.fsync.p50Ms, 2);
    checks.push({ name: 'p50 sync−local at 1 client', figure: fmtMs(gap), bound: `≤ RTT + fsync = ${fmtMs(floor)}`, met: gap <= floor });
  } else {
    checks.push(unmeasured('p50 sync−local at 1 client', '≤ RTT + fsync', 'not measured'));
  }

  const injection = s.injection;
  for (const injectedMs of [50, 200]) {
    const name = `injected ${injectedMs} ms: added p50`;
    const bound = `${injectedMs} ± ${injectionToleranceMs(injectedMs)} ms`;
    const row = injection?.status === 'ok' ? injection.data.rows.find((r) => r.injectedMs === injectedMs) : undefined;
    if (row) checks.push({ name, figure: fmtMs(row.addedP50Ms), bound, met: Math.abs(row.errorMs) <= injectionToleranceMs(injectedMs) });
    else checks.push(unmeasured(name, bound, injection?.status === 'n/a' ? `n/a (${injection.reason})` : 'not measured'));
  }

  const lag = s.lag?.status === 'ok' ? s.lag.data : undefined;
  if (lag) {
    const worst = Object.entries(lag.copies).reduce<[string, number]>((w, [id, p]) => (p.lag.p99Ms > w[1] ? [id, p.lag.p99Ms] : w), ['', -1]);
    checks.push({ name: 'async replica lag p99 at half load', figure: `${fmtMs(worst[1])} (${worst[0]})`, bound: `≤ ${LAG_P99_MS_MAX} ms`, met: worst[1] <= LAG_P99_MS_MAX });
  } else {
    checks.push(unmeasured('async replica lag p99 at half load', `≤ ${LAG_P99_MS_MAX} ms`, 'not measured'));
  }

  const failover = s.failover;
  if (failover?.status === 'ok' && failover.data.kills.length > 0) {
    const bound = failover.data.failoverTimeoutMs + FAILOVER_MARGIN_MS;
    checks.push({ name: 'failover time p50', figure: fmtMs(failover.data.p50Ms), bound: `≤ FAILOVER_TIMEOUT_MS + ${FAILOVER_MARGIN_MS} = ${bound} ms`, met: failover.data.p50Ms <= bound });
  } else {
    checks.push(unmeasured('failover time p50', `≤ FAILOVER_TIMEOUT_MS + ${FAILOVER_MARGIN_MS} ms`, failover?.status === 'n/a' ? `n/a (${failover.reason})` : 'not measured'));
  }

  const catchUp = s.catchup?.status === 'ok' ? s.catchup.data : undefined;
  if (catchUp) {
    const lowerBound = catchUp.partial.lowerBound ? ' (lower bound)' : '';
    checks.push({ name: 'catch-up by partial resync', figure: `${fmtInt(catchUp.partial.perS)} entries/s${lowerBound}`, bound: `≥ ${fmtInt(CATCH_UP_PER_S_MIN)} entries/s`, met: catchUp.partial.perS >= CATCH_UP_PER_S_MIN });
  } else {
    checks.push(unmeasured('catch-up by partial resync', `≥ ${fmtInt(CATCH_UP_PER_S_MIN)} entries/s`, 'not measured'));
  }
  return checks;
}
