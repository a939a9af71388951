// Which operations of a chaos history the linearizability check judges, and its verdict per key.
// SPEC §3: reads on the primary are linearizable. A register model per key is enough because
// linearizability is compositional (P-compositionality, Herlihy and Wing): the history is
// linearizable exactly when each key's sub-history is, so each key is searched on its own.
//
// What enters a key's history:
// - writes with ack=sync or ack=all: acknowledged ones over [start, end]; indeterminate ones (an
//   error answer without "definite":true, a timeout, no answer) over [start, +Infinity), since they
//   may take effect at any time after they were sent, or never; definite failures are dropped, they
//   did not happen;
// - reads answered by a node that said it was the primary (the answer's own `role`); a read of an
//   absent key reads "absent". Replica reads may be stale by design: they stay in the staleness report.
//
// Keys written with ack=local even once are left out. An acknowledged ack=local write may be lost at a
// failover by design (SPEC §6.6): the primary that acknowledged it served it, the next primary never
// had it, and no linearizable register can explain that, whether the write counts as acknowledged or
// as indeterminate (a read saw it, a later read did not). Counting those keys would fail the run on a
// loss the API announces; ack=local losses are reported apart. So the check speaks for the keys written
// only with ack=sync and ack=all: the register keys, and the unique keys of those ack levels.

import type { Op, ReadOp, WriteOp } from './history.ts';
import { checkRegister, explainViolation, type RegisterLimits, type RegisterOp } from './linearizability.ts';

export interface LinearizabilityOptions extends RegisterLimits {
  // All keys together: keys not reached when it is spent are "unknown" (the run has a hard bound).
  totalBudgetMs: number;
  // Keys whose violation is shrunk to a minimal explanation, and the time each may take.
  explainedKeysMax: number;
  explainBudgetMs: number;
}

// The checker's bounds. A key beyond them is "unknown", which fails the verdict like a violation
// would: an unchecked key proves nothing. The workload keeps keys far below them (its keys take
// thousands of steps; a million steps is about a quarter of a second on one core).
export const linearizabilityDefaults: LinearizabilityOptions = {
  opsPerKeyMax: 600,
  stepsPerKeyMax: 2_000_000,
  keyBudgetMs: 2000,
  totalBudgetMs: 60_000,
  explainedKeysMax: 5,
  explainBudgetMs: 2000,
};

export interface ExplainedOp {
  id: number;
  kind: 'write' | 'read';
  client: number;
  startMs: number;
  // null: the write got no definite answer, it may take effect any time after startMs.
  endMs: number | null;
  // One line a person reads: who, what, where, the outcome.
  text: string;
}

export interface KeyViolation {
  key: string;
  operations: number;
  // The smallest set of operations found that is not linearizable (empty beyond explainedKeysMax).
  explanation: ExplainedOp[];
  minimal: boolean;
}

export interface KeyUnknown {
  key: string;
  operations: number;
  reason: string;
}

export interface LinearizabilitySummary {
  // Keys with at least one primary read and only ack=sync/ack=all writes: the keys searched.
  keysChecked: number;
  linearizable: number;
  notLinearizable: KeyViolation[];
  unknown: KeyUnknown[];
  // Keys with a primary read left out because an ack=local write touched them.
  keysSkippedLocal: number;
  primaryReads: number;
  writes: number;
  steps: number;
  tookMs: number;
}

const canonical = (value: unknown) => (value === undefined ? null : JSON.stringify(value));

// One history operation as a register operation, or null when it does not enter the check.
export function toRegisterOp(op: Op): RegisterOp | null {
  if (op.type === 'write') {
    if (op.result === 'fail') return null;
    return { id: op.id, kind: 'write', value: canonical(op.value), callMs: op.startMs, returnMs: op.result === 'ok' ? op.endMs : Infinity };
  }
  if (op.result !== 'ok' || op.role !== 'primary') return null;
  return { id: op.id, kind: 'read', value: op.found ? canonical(op.value) : null, callMs: op.startMs, returnMs: op.endMs };
}

interface KeyHistory {
  key: string;
  ops: RegisterOp[];
  local: boolean;
  reads: number;
}

function keyHistories(ops: readonly Op[]): Map<string, KeyHistory> {
  const byKey = new Map<string, KeyHistory>();
  for (const op of ops) {
    let h = byKey.get(op.key);
    if (!h) {
      h = { key: op.key, ops: [], local: false, reads: 0 };
      byKey.set(op.key, h);
    }
    if (op.type === 'write' && op.ack === 'local') h.local = true;
    const registerOp = toRegisterOp(op);
    if (!registerOp) continue;
    h.ops.push(registerOp);
    if (registerOp.kind === 'read') h.reads++;
  }
  return byKey;
}

export function checkLinearizability(ops: readonly Op[], options: LinearizabilityOptions = linearizabilityDefaults): LinearizabilitySummary {
  const started = performance.now();
  const deadline = started + options.totalBudgetMs;
  const byId = new Map(ops.map((op) => [op.id, op]));
  const summary: LinearizabilitySummary = { keysChecked: 0, linearizable: 0, notLinearizable: [], unknown: [], keysSkippedLocal: 0, primaryReads: 0, writes: 0, steps: 0, tookMs: 0 };
  // Sorted by key, so the report (and which violations get explained) is the same run to run.
  for (const h of [...keyHistories(ops).values()].sort((a, b) => (a.key < b.key ? -1 : 1))) {
    // A key no primary read touched is trivially linearizable: writes alone always are.
    if (h.reads === 0) continue;
    if (h.local) {
      summary.keysSkippedLocal++;
      continue;
    }
    summary.keysChecked++;
    summary.primaryReads += h.reads;
    summary.writes += h.ops.length - h.reads;
    const verdict = performance.now() > deadline
      ? { verdict: 'unknown' as const, steps: 0, reason: `not searched: the check's ${options.totalBudgetMs} ms for all keys ran out` }
      : checkRegister(h.ops, options);
    summary.steps += verdict.steps;
    if (verdict.verdict === 'linearizable') summary.linearizable++;
    else if (verdict.verdict === 'unknown') summary.unknown.push({ key: h.key, operations: h.ops.length, reason: verdict.reason });
    else summary.notLinearizable.push(violation(h, byId, options, summary.notLinearizable.length < options.explainedKeysMax));
  }
  summary.tookMs = Math.round(performance.now() - started);
  return summary;
}

function violation(h: KeyHistory, byId: ReadonlyMap<number, Op>, options: LinearizabilityOptions, explain: boolean): KeyViolation {
  if (!explain) return { key: h.key, operations: h.ops.length, explanation: [], minimal: false };
  const found = explainViolation(h.ops, options, options.explainBudgetMs);
  return { key: h.key, operations: h.ops.length, explanation: found.ops.map((r) => explainOp(r, byId.get(r.id) as Op)), minimal: found.minimal };
}

const at = (ms: number) => `${(ms / 1000).toFixed(3)} s`;

function explainOp(r: RegisterOp, op: Op): ExplainedOp {
  const endMs = r.returnMs === Infinity ? null : r.returnMs;
  // An indeterminate write may take effect after its (error) answer too: its span has no end.
  const open = op.type === 'write' && op.status !== null ? `open: answered at ${at(op.endMs)} without effect known` : 'open: no answer';
  const span = `[${at(r.callMs)} .. ${endMs === null ? open : at(endMs)}]`;
  const text = op.type === 'write' ? `${span} write #${op.id} client ${op.client} ${r.value} ack=${op.ack} ${writeOutcomeText(op)}` : `${span} read  #${op.id} client ${op.client} on ${readWhere(op)} saw ${r.value ?? 'absent'}`;
  return { id: op.id, kind: r.kind, client: op.client, startMs: r.callMs, endMs, text };
}

function writeOutcomeText(w: WriteOp): string {
  const where = w.servedBy ?? w.node;
  if (w.result === 'ok') return `acknowledged by ${w.ackedBy.join('+') || where} at epoch ${w.epoch} LSN ${w.lsn}`;
  return `indeterminate (${w.error ?? 'no answer'}${w.definite === false ? ', definite:false' : ''}) on ${where}${w.lsn !== null ? ` LSN ${w.lsn}` : ''}`;
}

function readWhere(r: ReadOp): string {
  const lsns = [r.lsn !== null ? `entry LSN ${r.lsn}` : null, r.appliedLsn !== null ? `applied LSN ${r.appliedLsn}` : null].filter(Boolean);
  return `${r.servedBy ?? r.node} as ${r.role}${lsns.length > 0 ? ` (${lsns.join(', ')})` : ''}`;
}
