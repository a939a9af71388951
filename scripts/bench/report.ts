// The one table a bench run prints: every section side by side, then each target with met / not
// met, then what the run noticed. Rendered from the results alone (pure), so the README can show
// exactly what a run printed.

import { findRow, type BenchResults, type LagData, type Outcome } from './results.ts';
import { fmtInt, fmtMs, fmtRatio } from './format.ts';
import { ratio, round } from './stats.ts';
import type { TargetCheck } from './targets.ts';

const ms = fmtMs;
const mib = (value: number | null) => (value === null ? 'n/a' : `${value.toFixed(0)} MiB`);
const int = fmtInt;

function row(cells: readonly string[], widths: readonly number[]): string {
  return `  ${cells.map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  ')}`.trimEnd();
}

// The lines of a section: its own when measured, one n/a or BROKEN line otherwise.
function section<T>(title: string, outcome: Outcome<T> | undefined, body: (data: T) => string[], besideNa: string[] = []): string[] {
  if (!outcome) return [];
  if (outcome.status === 'n/a') return [title, `  n/a (${outcome.reason})`, ...besideNa, ''];
  if (outcome.status === 'broken') return [title, `  BROKEN: ${outcome.error.split('\n')[0]}`, ''];
  return [title, ...body(outcome.data), ''];
}

// The worst lag samples and when they came: all at one moment is a stall, spread out is load.
function worstLags(d: LagData): string[] {
  const worst = Object.entries(d.copies).flatMap(([id, p]) => p.worst.map((w) => ({ id, ...w })));
  const p99Max = Math.max(...Object.values(d.copies).map((p) => p.lag.p99Ms));
  const spikes = worst.filter((w) => w.lagMs > 2 * p99Max || w.lagMs > 100).sort((a, b) => b.lagMs - a.lagMs).slice(0, 6).sort((a, b) => a.atS - b.atS);
  if (spikes.length === 0) return [];
  return [`  worst: ${spikes.map((w) => `${ms(w.lagMs)} on ${w.id} at ${w.atS} s`).join(', ')}`];
}

export function renderReport(results: BenchResults, targets: readonly TargetCheck[]): string {
  const { meta, sections: s } = results;
  const lines: string[] = [
    `mirrorlab bench (${meta.profile}) — ${meta.startedAt} · node ${meta.node} · ${meta.platform}, ${meta.cpus} × ${meta.cpuModel}, ${meta.memoryGiB} GiB · took ${Math.round(meta.durationS)} s · load avg at start ${meta.loadAverageAtStart}${meta.foreignCpuPercent === null ? '' : ` · other processes used ${meta.foreignCpuPercent} % of a core meanwhile`}`,
    `settings: ${Object.entries(meta.settings).map(([k, v]) => `${k}=${v}`).join(' ')} (others at their defaults)${meta.profiledNode ? ` · ${meta.profiledNode} under the CPU profiler` : ''}`,
    '',
  ];

  lines.push(...section('BASELINES                                   p50          p99', s.baselines, (d) => {
    const w = [42, 12];
    return [
      row(['loopback HTTP round trip (bare echo)', ms(d.loopbackRtt.p50Ms), ms(d.loopbackRtt.p99Ms)], w),
      row(['GET /health of a node (Fastify)', ms(d.nodeHealthRtt.p50Ms), ms(d.nodeHealthRtt.p99Ms)], w),
      row([`fsync of a ${d.fsyncBytes} B append`, ms(d.fsync.p50Ms), ms(d.fsync.p99Ms)], w),
      row([`  the same, ${d.fsyncConcurrentWriters} appenders at once`, ms(d.fsyncConcurrent.p50Ms), ms(d.fsyncConcurrent.p99Ms)], w),
    ];
  }));

  lines.push(...section('WRITES', s.writes, (d) => {
    const w = [12, 8, 10, 10, 10, 24];
    const out = [
      `  ${d.valueBytes} B values, ${d.durationMs / 1000} s per row in ${d.rounds} interleaved rounds, keep-alive clients in a separate process`,
      row(['ack level', 'clients', 'writes/s', 'p50', 'p99', 'p50 local/copies/outside', 'cpu % primary/mirror/replicas/client'], w),
    ];
    for (const r of d.rows) {
      const c = r.cpuPercent;
      const cpu = [c.primary, c.mirror, c['replica-1'], c['replica-2'], c.client].map((v) => (v === null || v === undefined ? '?' : String(v)));
      const split = `${r.p50SplitMs.local.toFixed(2)} / ${r.p50SplitMs.copies.toFixed(2)} / ${r.p50SplitMs.outside.toFixed(2)}`;
      out.push(row([`ack=${r.ack}`, String(r.clients), int(r.throughputPerS), ms(r.latency.p50Ms), ms(r.latency.p99Ms), split, `${cpu[0]} / ${cpu[1]} / ${cpu[2]}+${cpu[3]} / ${cpu[4]}`], w));
    }
    for (const level of ['sync', 'all']) {
      const at = (clients: number) => ratio(findRow(d, level, clients)?.throughputPerS ?? Number.NaN, findRow(d, 'local', clients)?.throughputPerS ?? Number.NaN);
      out.push(`  throughput ${level}/local = ${fmtRatio(at(64))} at 64 clients, ${fmtRatio(at(1))} at 1 client`);
    }
    for (const level of ['sync', 'all']) {
      const gap = round((findRow(d, level, 1)?.latency.p50Ms ?? Number.NaN) - (findRow(d, 'local', 1)?.latency.p50Ms ?? Number.NaN), 2);
      out.push(`  p50 ${level}−local at 1 client = ${ms(gap)}`);
    }
    return out;
  }));

  lines.push(...section('LATENCY INJECTION (primary→mirror; sync writes, 1 client)', s.injection, (d) =>
    d.rows.map((r) => row([`+${r.injectedMs} ms`, `p50 ${ms(r.baselineP50Ms)} → ${ms(r.p50Ms)}`, `added ${ms(r.addedP50Ms)}`, `error ${r.errorMs >= 0 ? '+' : ''}${ms(r.errorMs)}`, `(${r.writes} writes)`], [9, 24, 16, 16])),
  ));

  lines.push(...section('REPLICATION LAG (async replicas, no faults)', s.lag, (d) => [
    `  ack=local at ${int(d.targetRatePerS)}/s (half of ${int(d.localThroughputPerS)}/s; achieved ${int(d.achievedRatePerS)}/s), ~${int(d.probesPerCopy)} probes per replica`,
    ...Object.entries(d.copies).map(([id, p]) =>
      row([id, `p50 ${ms(p.lag.p50Ms)}`, `p99 ${ms(p.lag.p99Ms)}`, `max ${ms(p.lag.maxMs)}`, `(includes a read round trip: p50 ${ms(p.readRtt.p50Ms)})`], [10, 14, 14, 16])),
    ...worstLags(d),
  ]));

  lines.push(...section('CATCH-UP', s.catchup, (d) => {
    const w = [16, 36];
    const bound = (lower: boolean) => (lower ? '≥ ' : '');
    return [
      row(['partial resync', `${int(d.partial.amount)} entries in ${d.partial.seconds} s`, `${bound(d.partial.lowerBound)}${int(d.partial.perS)} entries/s  (${d.copy}, ${d.partial.resync}; ${d.partial.secondsFromSpawn} s from spawn)`], w),
      row(['full resync', `${int(d.full.amount)} keys in ${d.full.seconds} s`, `${bound(d.full.lowerBound)}${int(d.full.perS)} keys/s  (${d.copy}, ${d.full.resync}; ${d.full.secondsFromSpawn} s from spawn)`], w),
    ];
  }));

  lines.push(...section('MEMORY (VmRSS)', s.memory, (d) =>
    Object.entries(d.nodes).map(([id, n]) =>
      row([id, `${int(n.keys)} keys of ${d.valueBytes} B`, `RSS ${mib(n.rssMiB)}`, `peak ${mib(n.hwmMiB)}`, `empty ${mib(n.rssAtStartMiB)}`, `(${n.backlogNote})`], [10, 24, 14, 14, 15])),
  ));

  lines.push(...section('FAILOVER (SIGKILL of the primary under load, 8 sync writers)', s.failover, (d) => [
    `  ${d.kills.length} kill${d.kills.length === 1 ? '' : 's'}: p50 ${ms(d.p50Ms)}, max ${ms(d.maxMs)}; FAILOVER_TIMEOUT_MS = ${d.failoverTimeoutMs}`,
    ...d.kills.map((k, i) => `  kill ${i + 1}: ${k.killed} → ${k.newPrimary} (epoch ${k.epochBefore}→${k.epochAfter}) ${ms(k.failoverMs)}; rejoined as synchronized mirror in ${ms(k.rejoinMs)}`),
    `  writes that failed meanwhile: ${Object.entries(d.writerErrors).map(([k, v]) => `${k} ${v}`).join(', ') || 'none'}`,
    ...d.notes.map((n) => `  note: ${n}`),
  ], [`  FAILOVER_TIMEOUT_MS = ${meta.settings.FAILOVER_TIMEOUT_MS ?? 'default'}`]));

  lines.push('TARGETS (reported, not asserted)');
  const w = [38, 30, 40];
  for (const t of targets) lines.push(row([t.name, t.figure, t.bound, t.met === null ? '—' : t.met ? 'met' : 'NOT MET'], w));
  if (results.notes.length > 0) lines.push('', 'NOTES', ...results.notes.map((n) => `  - ${n}`));
  return lines.join('\n');
}
