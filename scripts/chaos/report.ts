// The verdict a person reads at the end of `npm run chaos`: the per-ack-level table, the lost writes
// with what the nodes' rollback files say about them, every failover with its times, the
// linearizability search with the operations behind each violation, and the checks with PASS / FAIL.
// Pure text from the checker's result.

import type { CheckResult, FailoverRow, LostWrite } from './checker.ts';
import { ACK_LEVELS } from './history.ts';
import type { LinearizabilitySummary } from './linearizable-keys.ts';

export interface ReportMeta {
  seed: number;
  durationS: number;
  nemesis: readonly string[];
  concurrency: number;
  runDir: string;
  stepsPlanned: number;
  stepsRun: number;
}

// Lost writes listed one by one at most (all of them are in report.json).
const LOST_LISTED_MAX = 20;

export function renderReport(result: CheckResult, meta: ReportMeta): string {
  return [
    `mirrorlab chaos: seed ${meta.seed}, ${meta.durationS} s, nemesis ${meta.nemesis.join(',') || 'none'}, ${meta.concurrency} clients, ${meta.stepsRun} of ${meta.stepsPlanned} faults applied`,
    '',
    renderAckTable(result),
    '',
    `reads of unique keys: ${result.totals.readsOk} answered of ${result.totals.reads}, ${result.totals.readsOnPrimary} by a primary; stale reads by role served: ${formatRoles(result.staleByRole)}${Object.keys(result.staleByRole).some((role) => role.endsWith('?')) ? ' (role?: the answer named no role, the client believed it)' : ''}`,
    `register keys: ${result.totals.registerWrites} writes, ${result.totals.registerReads} reads, ${result.totals.registerReadsOnPrimary} answered by a primary`,
    `longest stretch without an acknowledged write: ${(result.longestGapWithoutAckMs / 1000).toFixed(1)} s`,
    '',
    renderFailovers(result.failovers),
    renderLost(result.lost),
    renderLinearizability(result.linearizability),
    renderChecks(result),
    '',
    `files: ${meta.runDir} (history.jsonl, nemesis.jsonl, schedule.json, events.jsonl, report.json, logs/<id>.log, data/<id>/rollback/)`,
    `verdict: ${result.pass ? 'PASS' : 'FAIL'}`,
  ].join('\n');
}

function table(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) => cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

export function renderAckTable(result: CheckResult): string {
  const header = ['ack', 'attempted', 'acked', 'degraded', 'alone', 'failed', 'indeterminate', 'LOST', 'lost degraded', 'recovered', 'phantom', 'stale reads', 'staleness max/mean LSNs'];
  const rows = ACK_LEVELS.map((ack) => {
    const r = result.rows[ack];
    const staleness = r.stalenessMaxLsns === null ? '-' : `${r.stalenessMaxLsns}/${r.stalenessMeanLsns}`;
    return [`ack=${ack}`, r.attempted, r.ok, r.okDegraded, r.okAlone, r.failed, r.indeterminate, r.lost, r.lostDegraded, r.recovered, r.phantom, r.staleReads, staleness].map(String);
  });
  const legend = 'degraded: acknowledged with degraded:true (no synchronized mirror protected it); alone: acknowledged by the primary alone;\n' +
    'LOST: acknowledged but absent on the final primary; recovered: indeterminate but present; phantom: failed definitely but present';
  return `${table(header, rows)}\n${legend}`;
}

const seconds = (ms: number | null) => (ms === null ? '-' : `${(ms / 1000).toFixed(2)} s`);

function renderFailovers(failovers: readonly FailoverRow[]): string {
  if (failovers.length === 0) return 'failovers: none\n';
  const rows = failovers.map((f) => [
    String(f.epoch),
    `${f.from ?? '?'} -> ${f.to}`,
    f.fault ? `#${f.fault.index} ${f.fault.description} [${f.fault.targets.join(', ')}]` : '(no fault before it)',
    seconds(f.faultToGrantMs),
    seconds(f.faultToFirstAckMs),
  ]);
  return `failovers:\n${table(['epoch', 'primary', 'fault', 'fault->grant', 'fault->first ack'], rows)}\n`;
}

function renderLost(lost: readonly LostWrite[]): string {
  if (lost.length === 0) return 'lost writes: none\n';
  const lines = lost.slice(0, LOST_LISTED_MAX).map((w) => {
    const rolled = w.rolledBack.length > 0 ? `; rolled back on ${w.rolledBack.map((r) => `${r.node} (LSN ${r.lsn}, ${r.file.split('/').pop()})`).join(', ')}` : '; in no rollback file';
    return `  ${w.key} ack=${w.ack} lsn=${w.lsn} epoch=${w.epoch} ackedBy=[${w.ackedBy.join(',')}] degraded=${w.degraded} acked at ${seconds(w.endMs)}${rolled}`;
  });
  const more = lost.length > LOST_LISTED_MAX ? `\n  … ${lost.length - LOST_LISTED_MAX} more in report.json` : '';
  return `lost writes (${lost.length}):\n${lines.join('\n')}${more}\n`;
}

// Violations listed at most (all of them are in report.json).
const VIOLATIONS_LISTED_MAX = 5;

function renderLinearizability(lin: LinearizabilitySummary): string {
  const head = `linearizability (per key, primary reads and ack=sync/ack=all writes; Wing-Gong search with memoization):\n` +
    `  ${lin.keysChecked} keys checked: ${lin.linearizable} linearizable, ${lin.notLinearizable.length} NOT linearizable, ${lin.unknown.length} unknown (budget exceeded: not a pass); ` +
    `${lin.keysSkippedLocal} keys with ack=local writes left out; ${lin.steps} search steps in ${lin.tookMs} ms`;
  const unknown = lin.unknown.slice(0, VIOLATIONS_LISTED_MAX).map((u) => `  unknown ${u.key} (${u.operations} operations): ${u.reason}`);
  const violations = lin.notLinearizable.slice(0, VIOLATIONS_LISTED_MAX).map((v) => {
    if (v.explanation.length === 0) return `  NOT linearizable ${v.key} (${v.operations} operations; only the first keys are explained, the rest is in history.jsonl)`;
    const what = v.minimal ? 'no order of these operations explains what the reads saw, and without any one of them one would' : 'no order of these operations explains what the reads saw (the search for a smaller set ran out of time)';
    return `  NOT linearizable ${v.key} (${v.operations} operations); ${what}:\n${v.explanation.map((op) => `    ${op.text}`).join('\n')}`;
  });
  const more = lin.notLinearizable.length > VIOLATIONS_LISTED_MAX ? [`  … ${lin.notLinearizable.length - VIOLATIONS_LISTED_MAX} more in report.json`] : [];
  return `${[head, ...unknown, ...violations, ...more].join('\n')}\n`;
}

function renderChecks(result: CheckResult): string {
  const lines = result.checks.map((c) => {
    const mark = c.ok ? (c.severity === 'info' ? 'ok  ' : 'PASS') : c.severity === 'info' ? 'note' : 'FAIL';
    return `  ${mark}  ${c.name}: ${c.detail}`;
  });
  return `checks:\n${lines.join('\n')}`;
}

function formatRoles(byRole: Readonly<Record<string, number>>): string {
  const entries = Object.entries(byRole);
  return entries.length === 0 ? 'none' : entries.map(([role, n]) => `${role} ${n}`).join(', ');
}
