// The checker: from a chaos run's history, the final state read from the final primary and what was
// seen at the end, it decides what happened to every write and whether the guarantees of SPEC §6
// held. Pure: synthetic histories test it (tests/unit/chaos/checker.test.ts).
//
// Per ack level: acknowledged writes, lost (acknowledged, absent at the end), recovered
// (indeterminate, present), phantoms (failed definitely, yet present: the API's "definite" lied),
// stale reads (a read that missed a write acknowledged before the read began; one served by a primary
// fails the run, SPEC §3). Across levels: one writer per epoch, no (epoch, LSN) acknowledged twice,
// nothing present that nobody wrote, the copies converged with equal digests, every failover with its
// time from the fault to the first acknowledged write on the new primary, and a linearizability search
// of every key's primary reads and ack=sync/ack=all writes (linearizable-keys.ts).
//
// The unique keys (`w/`, the set workload of Jepsen) make "present at the end" exact; the register
// keys (`r/`, overwritten by every client) serve the linearizability search and the per-epoch checks
// only, since "lost" means nothing for a key that a later write overwrites.

import { ACK_LEVELS, type AckName, KEY_PREFIX, type Op, type ReadOp, type WriteOp } from './history.ts';
import { checkLinearizability, linearizabilityDefaults, type LinearizabilityOptions, type LinearizabilitySummary } from './linearizable-keys.ts';

export interface FinalItem {
  value: unknown;
  lsn: number;
}

export interface NemesisRecord {
  index: number;
  kind: string;
  description: string;
  // The node ids (or names) the fault hit, once resolved.
  targets: string[];
  startedMs: number;
  healedMs: number | null;
  error?: string;
}

// An epoch change seen during the run: from the witness's failover-granted event, or the first
// time the witness's view showed the epoch.
export interface FailoverSighting {
  epoch: number;
  atMs: number;
  from: string | null;
  to: string;
}

// One entry a node rolled back into DATA_DIR/rollback/ (read from the files at the end).
export interface RolledBackEntry {
  node: string;
  key: string;
  lsn: number;
  epoch: number;
  file: string;
}

export interface ProcessExit {
  id: string;
  atMs: number;
  description: string;
}

export interface CopyVerdict {
  id: string;
  role: string;
  match: boolean;
  appliedLsn: number | null;
  reason?: string;
}

export interface Convergence {
  converged: boolean;
  // What the wait saw last: the reason when it did not converge.
  detail: string;
  primary: string | null;
  epoch: number | null;
  mirror: string | null;
  lsn: number | null;
  copies: CopyVerdict[];
  waitedMs: number;
}

export interface CheckInput {
  ops: readonly Op[];
  // The `w/` keys on the final primary; null when they could not be read.
  final: ReadonlyMap<string, FinalItem> | null;
  convergence: Convergence;
  nemesis: readonly NemesisRecord[];
  failovers: readonly FailoverSighting[];
  rolledBack: readonly RolledBackEntry[];
  unexpectedExits: readonly ProcessExit[];
  // The linearizability search's bounds (linearizabilityDefaults when absent).
  linearizability?: LinearizabilityOptions;
}

export interface AckRow {
  ack: AckName;
  attempted: number;
  ok: number;
  // Acknowledged with degraded:true (no sync mirror protected it), and by the primary alone.
  okDegraded: number;
  okAlone: number;
  failed: number;
  indeterminate: number;
  lost: number;
  lostDegraded: number;
  recovered: number;
  phantom: number;
  staleReads: number;
  stalenessMaxLsns: number | null;
  stalenessMeanLsns: number | null;
  // Reads that saw the write, whose key was absent at the end (a read of a write later lost).
  seenThenLost: number;
}

export interface LostWrite {
  key: string;
  ack: AckName;
  lsn: number | null;
  epoch: number | null;
  ackedBy: string[];
  degraded: boolean | null;
  servedBy: string | null;
  startMs: number;
  endMs: number;
  rolledBack: RolledBackEntry[];
}

export interface EpochWriters {
  epoch: number;
  nodes: string[];
  acks: number;
  firstAckMs: number;
  lastAckMs: number;
}

export interface FailoverRow {
  epoch: number;
  from: string | null;
  to: string;
  grantedAtMs: number;
  fault: { index: number; kind: string; description: string; targets: string[]; startedMs: number } | null;
  faultToGrantMs: number | null;
  firstAckMs: number | null;
  faultToFirstAckMs: number | null;
}

export interface Check {
  name: string;
  ok: boolean;
  // `fail` checks decide the verdict; `info` ones are reported (ack=local losses are the lesson).
  severity: 'fail' | 'info';
  detail: string;
}

export interface StaleRead {
  key: string;
  ack: AckName;
  node: string;
  // The role the answer named (null: a 404 of GET /kv/:key names none), and the one the client believed.
  role: string | null;
  targetRole: string | null;
  startMs: number;
  endMs: number;
  writeLsn: number | null;
  appliedLsn: number | null;
  stalenessLsns: number | null;
}

export interface CheckResult {
  rows: Record<AckName, AckRow>;
  lost: LostWrite[];
  phantoms: WriteOp[];
  unexpected: string[];
  // Final values (corrupted) and read values (corruptedReads) that differ from the value written.
  corrupted: string[];
  corruptedReads: string[];
  staleReads: StaleRead[];
  // Stale reads by the role that served them; a role the answer did not name is the believed one
  // with a question mark ("replica?").
  staleByRole: Record<string, number>;
  // Stale reads whose answer named the primary role: each one breaks SPEC §3.
  staleOnPrimary: StaleRead[];
  linearizability: LinearizabilitySummary;
  epochs: EpochWriters[];
  twoWriterEpochs: EpochWriters[];
  duplicateLsns: Array<{ epoch: number; lsn: number; keys: string[] }>;
  lateAcks: WriteOp[];
  failovers: FailoverRow[];
  longestGapWithoutAckMs: number;
  // Unique-key (`w/`) operations, and register-key (`r/`) operations apart.
  totals: { writes: number; reads: number; readsOk: number; readsOnPrimary: number; registerWrites: number; registerReads: number; registerReadsOnPrimary: number };
  checks: Check[];
  pass: boolean;
}

export function checkHistory(input: CheckInput): CheckResult {
  const writes = input.ops.filter((op): op is WriteOp => op.type === 'write');
  const reads = input.ops.filter((op): op is ReadOp => op.type === 'read');
  const unique = (op: Op) => op.key.startsWith(KEY_PREFIX);
  const setWrites = writes.filter(unique);
  const setReads = reads.filter(unique);
  const onPrimary = (r: ReadOp) => r.result === 'ok' && r.role === 'primary';
  const writesById = new Map(setWrites.map((w) => [w.id, w]));
  const rows = Object.fromEntries(ACK_LEVELS.map((ack) => [ack, emptyRow(ack)])) as Record<AckName, AckRow>;
  const outcome = judgeWrites(setWrites, input.final, rows, input.rolledBack);
  const reading = judgeReads(setReads, writesById, input.final, rows);
  const epochs = epochWriters(writes);
  const result: Omit<CheckResult, 'checks' | 'pass'> = {
    rows,
    ...outcome,
    unexpected: unexpectedKeys(setWrites, input.final),
    ...reading,
    staleOnPrimary: reading.staleReads.filter((s) => s.role === 'primary'),
    linearizability: checkLinearizability(input.ops, input.linearizability ?? linearizabilityDefaults),
    epochs,
    twoWriterEpochs: epochs.filter((e) => e.nodes.length > 1),
    duplicateLsns: duplicates(writes),
    lateAcks: lateAcks(writes, epochs),
    failovers: failoverRows(input.failovers, input.nemesis, writes),
    longestGapWithoutAckMs: longestGap(writes),
    totals: {
      writes: setWrites.length,
      reads: setReads.length,
      readsOk: setReads.filter((r) => r.result === 'ok').length,
      readsOnPrimary: setReads.filter(onPrimary).length,
      registerWrites: writes.length - setWrites.length,
      registerReads: reads.length - setReads.length,
      registerReadsOnPrimary: reads.filter((r) => !unique(r) && onPrimary(r)).length,
    },
  };
  const checks = verdictChecks(result, input);
  return { ...result, checks, pass: checks.every((c) => c.ok || c.severity === 'info') };
}

function emptyRow(ack: AckName): AckRow {
  return {
    ack, attempted: 0, ok: 0, okDegraded: 0, okAlone: 0, failed: 0, indeterminate: 0, lost: 0, lostDegraded: 0,
    recovered: 0, phantom: 0, staleReads: 0, stalenessMaxLsns: null, stalenessMeanLsns: null, seenThenLost: 0,
  };
}

const sameValue = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

function judgeWrites(writes: readonly WriteOp[], final: ReadonlyMap<string, FinalItem> | null, rows: Record<AckName, AckRow>, rolledBack: readonly RolledBackEntry[]) {
  const lost: LostWrite[] = [];
  const phantoms: WriteOp[] = [];
  const corrupted: string[] = [];
  for (const w of writes) {
    const row = rows[w.ack];
    row.attempted++;
    if (w.result === 'ok') {
      row.ok++;
      if (w.degraded) row.okDegraded++;
      if (w.ackedBy.length <= 1) row.okAlone++;
    } else if (w.result === 'fail') row.failed++;
    else row.indeterminate++;
    if (!final) continue;
    const item = final.get(w.key);
    if (item && !sameValue(item.value, w.value)) corrupted.push(`${w.key}: wrote ${JSON.stringify(w.value)}, found ${JSON.stringify(item.value)}`);
    if (w.result === 'ok' && !item) {
      row.lost++;
      if (w.degraded) row.lostDegraded++;
      lost.push(lostWrite(w, rolledBack));
    } else if (w.result === 'info' && item) row.recovered++;
    else if (w.result === 'fail' && item) {
      row.phantom++;
      phantoms.push(w);
    }
  }
  return { lost, phantoms, corrupted };
}

function lostWrite(w: WriteOp, rolledBack: readonly RolledBackEntry[]): LostWrite {
  return {
    key: w.key, ack: w.ack, lsn: w.lsn, epoch: w.epoch, ackedBy: w.ackedBy, degraded: w.degraded, servedBy: w.servedBy,
    startMs: w.startMs, endMs: w.endMs, rolledBack: rolledBack.filter((r) => r.key === w.key),
  };
}

function unexpectedKeys(writes: readonly WriteOp[], final: ReadonlyMap<string, FinalItem> | null): string[] {
  if (!final) return [];
  const attempted = new Set(writes.map((w) => w.key));
  return [...final.keys()].filter((key) => key.startsWith(KEY_PREFIX) && !attempted.has(key));
}

// A stale read: it began after its write was acknowledged, answered without the key, and the key
// is there at the end (a write lost later is counted as lost, not as read stale).
function judgeReads(reads: readonly ReadOp[], writesById: ReadonlyMap<number, WriteOp>, final: ReadonlyMap<string, FinalItem> | null, rows: Record<AckName, AckRow>) {
  const staleReads: StaleRead[] = [];
  const staleByRole: Record<string, number> = {};
  const corruptedReads: string[] = [];
  for (const r of reads) {
    const w = r.writeId === null ? undefined : writesById.get(r.writeId);
    if (!w || r.result !== 'ok') continue;
    const presentAtEnd = final ? final.has(w.key) : true;
    if (r.found) {
      if (r.value !== undefined && !sameValue(r.value, w.value)) corruptedReads.push(`${r.key} read on ${r.servedBy ?? r.node}: wrote ${JSON.stringify(w.value)}, read ${JSON.stringify(r.value)}`);
      if (!presentAtEnd) rows[w.ack].seenThenLost++;
      continue;
    }
    if (w.result !== 'ok' || w.endMs >= r.startMs || !presentAtEnd) continue;
    const applied = r.probedAppliedLsn ?? r.appliedLsn;
    const stalenessLsns = w.lsn !== null && applied !== null ? Math.max(0, w.lsn - applied) : null;
    staleReads.push({ key: r.key, ack: w.ack, node: r.servedBy ?? r.node, role: r.role, targetRole: r.targetRole, startMs: r.startMs, endMs: r.endMs, writeLsn: w.lsn, appliedLsn: applied, stalenessLsns });
    const role = r.role ?? `${r.targetRole ?? 'unknown'}?`;
    staleByRole[role] = (staleByRole[role] ?? 0) + 1;
  }
  for (const ack of ACK_LEVELS) {
    const mine = staleReads.filter((s) => s.ack === ack);
    const lsns = mine.map((s) => s.stalenessLsns).filter((n): n is number => n !== null);
    rows[ack].staleReads = mine.length;
    rows[ack].stalenessMaxLsns = lsns.length > 0 ? Math.max(...lsns) : null;
    rows[ack].stalenessMeanLsns = lsns.length > 0 ? Math.round((lsns.reduce((a, b) => a + b, 0) / lsns.length) * 10) / 10 : null;
  }
  return { staleReads, staleByRole, corruptedReads };
}

// The node that acknowledged a write: the primary lists itself first in ackedBy.
const acknowledger = (w: WriteOp) => w.ackedBy[0] ?? w.servedBy ?? w.node;

function epochWriters(writes: readonly WriteOp[]): EpochWriters[] {
  const byEpoch = new Map<number, EpochWriters & { set: Set<string> }>();
  for (const w of writes) {
    if (w.result !== 'ok' || w.epoch === null) continue;
    let e = byEpoch.get(w.epoch);
    if (!e) {
      e = { epoch: w.epoch, nodes: [], acks: 0, firstAckMs: w.endMs, lastAckMs: w.endMs, set: new Set() };
      byEpoch.set(w.epoch, e);
    }
    e.set.add(acknowledger(w));
    e.acks++;
    e.firstAckMs = Math.min(e.firstAckMs, w.endMs);
    e.lastAckMs = Math.max(e.lastAckMs, w.endMs);
  }
  return [...byEpoch.values()].sort((a, b) => a.epoch - b.epoch).map(({ set, ...e }) => ({ ...e, nodes: [...set].sort() }));
}

function duplicates(writes: readonly WriteOp[]): Array<{ epoch: number; lsn: number; keys: string[] }> {
  const seen = new Map<string, Set<string>>();
  for (const w of writes) {
    if (w.result !== 'ok' || w.epoch === null || w.lsn === null) continue;
    const id = `${w.epoch}:${w.lsn}`;
    const keys = seen.get(id) ?? new Set<string>();
    keys.add(w.key);
    seen.set(id, keys);
  }
  return [...seen.entries()]
    .filter(([, keys]) => keys.size > 1)
    .map(([id, keys]) => {
      const [epoch, lsn] = id.split(':').map(Number) as [number, number];
      return { epoch, lsn, keys: [...keys].sort() };
    });
}

// Writes acknowledged at an older epoch that *began* after a newer epoch's first acknowledgement
// had reached a client: a deposed primary still acknowledging (split brain in real time).
function lateAcks(writes: readonly WriteOp[], epochs: readonly EpochWriters[]): WriteOp[] {
  return writes.filter((w) => w.result === 'ok' && w.epoch !== null && epochs.some((e) => e.epoch > (w.epoch as number) && e.firstAckMs < w.startMs));
}

function failoverRows(sightings: readonly FailoverSighting[], nemesis: readonly NemesisRecord[], writes: readonly WriteOp[]): FailoverRow[] {
  return [...sightings]
    .sort((a, b) => a.epoch - b.epoch)
    .map((s) => {
      const before = nemesis.filter((n) => n.startedMs <= s.atMs);
      const fault = before.length > 0 ? (before[before.length - 1] as NemesisRecord) : null;
      const acks = writes.filter((w) => w.result === 'ok' && w.epoch === s.epoch).map((w) => w.endMs);
      const firstAckMs = acks.length > 0 ? Math.min(...acks) : null;
      return {
        epoch: s.epoch,
        from: s.from,
        to: s.to,
        grantedAtMs: s.atMs,
        fault: fault ? { index: fault.index, kind: fault.kind, description: fault.description, targets: fault.targets, startedMs: fault.startedMs } : null,
        faultToGrantMs: fault ? Math.round(s.atMs - fault.startedMs) : null,
        firstAckMs,
        faultToFirstAckMs: fault && firstAckMs !== null ? Math.round(firstAckMs - fault.startedMs) : null,
      };
    });
}

// The longest stretch between two acknowledgements (any ack level): how long clients could not write.
function longestGap(writes: readonly WriteOp[]): number {
  const ends = writes.filter((w) => w.result === 'ok').map((w) => w.endMs).sort((a, b) => a - b);
  let gap = 0;
  for (let i = 1; i < ends.length; i++) gap = Math.max(gap, (ends[i] as number) - (ends[i - 1] as number));
  return Math.round(gap);
}

function verdictChecks(r: Omit<CheckResult, 'checks' | 'pass'>, input: CheckInput): Check[] {
  const sync = r.rows.sync;
  const all = r.rows.all;
  const local = r.rows.local;
  const c = input.convergence;
  const finalRead = input.final !== null;
  const corrupted = [...r.corrupted, ...r.corruptedReads];
  const lin = r.linearizability;
  return [
    { name: 'the final state was read from the final primary', ok: finalRead, severity: 'fail', detail: finalRead ? `${input.final?.size ?? 0} keys` : 'could not read it: losses cannot be judged' },
    { name: 'no acknowledged ack=sync write lost', ok: sync.lost === 0, severity: 'fail', detail: `${sync.ok} acknowledged; lost ${sync.lost - sync.lostDegraded} acknowledged by the mirror, ${sync.lostDegraded} acknowledged degraded (of ${sync.okDegraded})` },
    { name: 'no acknowledged ack=all write lost', ok: all.lost === 0, severity: 'fail', detail: `${all.ok} acknowledged (${all.okAlone} by the primary alone); lost ${all.lost}` },
    { name: 'one writer per epoch', ok: r.twoWriterEpochs.length === 0, severity: 'fail', detail: r.twoWriterEpochs.length === 0 ? `${r.epochs.length} epochs with acknowledged writes` : r.twoWriterEpochs.map((e) => `epoch ${e.epoch}: ${e.nodes.join(' and ')}`).join('; ') },
    { name: 'no (epoch, LSN) acknowledged for two keys', ok: r.duplicateLsns.length === 0, severity: 'fail', detail: r.duplicateLsns.length === 0 ? 'none' : r.duplicateLsns.slice(0, 5).map((d) => `epoch ${d.epoch} LSN ${d.lsn}: ${d.keys.join(', ')}`).join('; ') },
    { name: 'no write that failed definitely is present', ok: r.phantoms.length === 0, severity: 'fail', detail: r.phantoms.length === 0 ? 'none' : r.phantoms.slice(0, 5).map((w) => `${w.key} (${w.error})`).join(', ') },
    { name: 'nothing present that was never written', ok: r.unexpected.length === 0, severity: 'fail', detail: r.unexpected.length === 0 ? 'none' : r.unexpected.slice(0, 5).join(', ') },
    { name: 'every value found equals the value written', ok: corrupted.length === 0, severity: 'fail', detail: corrupted.length === 0 ? 'yes' : corrupted.slice(0, 3).join('; ') },
    { name: 'the copies converged with equal digests', ok: c.converged && c.copies.every((x) => x.match), severity: 'fail', detail: convergenceText(c) },
    { name: 'no process exited without a fault', ok: input.unexpectedExits.length === 0, severity: 'fail', detail: input.unexpectedExits.length === 0 ? 'none' : input.unexpectedExits.map((e) => `${e.id} at ${(e.atMs / 1000).toFixed(1)} s: ${e.description}`).join('; ') },
    { name: 'ack=local losses (asynchronous by design: reported, not a failure)', ok: local.lost === 0, severity: 'info', detail: `${local.lost} of ${local.ok} acknowledged ack=local writes lost` },
    { name: 'writes acknowledged at an old epoch after a newer epoch acknowledged', ok: r.lateAcks.length === 0, severity: 'info', detail: `${r.lateAcks.length}` },
    { name: 'no stale read served by a primary', ok: r.staleOnPrimary.length === 0, severity: 'fail', detail: staleOnPrimaryText(r.staleOnPrimary, r.totals.readsOnPrimary) },
    { name: 'primary reads and ack=sync/ack=all writes are linearizable per key', ok: lin.notLinearizable.length === 0 && lin.unknown.length === 0, severity: 'fail', detail: linearizabilityText(lin) },
    { name: 'stale reads not served by a primary (allowed: a replica may lag; read-your-writes is minLsn)', ok: r.staleReads.length === r.staleOnPrimary.length, severity: 'info', detail: `${r.staleReads.length - r.staleOnPrimary.length}${Object.keys(r.staleByRole).length > 0 ? ` (${Object.entries(r.staleByRole).filter(([role]) => role !== 'primary').map(([role, n]) => `${n} served by a ${role}`).join(', ')})` : ''}` },
  ];
}

function staleOnPrimaryText(stale: readonly StaleRead[], readsOnPrimary: number): string {
  if (stale.length === 0) return `none of ${readsOnPrimary} reads of unique keys answered by a primary`;
  const shown = stale.slice(0, 3).map((s) => `${s.key} on ${s.node} at ${(s.startMs / 1000).toFixed(3)} s (write LSN ${s.writeLsn}, node applied ${s.appliedLsn})`);
  return `${stale.length} of ${readsOnPrimary}: ${shown.join('; ')}${stale.length > 3 ? '; …' : ''}`;
}

// "unknown" is spelled out: a key the search could not finish is not a pass.
function linearizabilityText(lin: LinearizabilitySummary): string {
  const head = `${lin.keysChecked} keys checked (${lin.primaryReads} primary reads, ${lin.writes} writes): ${lin.linearizable} linearizable, ${lin.notLinearizable.length} NOT linearizable, ${lin.unknown.length} unknown (budget exceeded: not a pass)`;
  const bad = lin.notLinearizable.slice(0, 3).map((v) => v.key);
  const unknown = lin.unknown.slice(0, 3).map((u) => `${u.key}: ${u.reason}`);
  return [head, ...(bad.length > 0 ? [`not linearizable: ${bad.join(', ')}`] : []), ...(unknown.length > 0 ? [`unknown: ${unknown.join('; ')}`] : []), `${lin.keysSkippedLocal} keys with ack=local writes left out`].join('; ');
}

function convergenceText(c: Convergence): string {
  const copies = c.copies.map((x) => `${x.id} ${x.role} ${x.match ? 'match' : `MISMATCH${x.reason ? ` (${x.reason})` : ''}`}`).join(', ');
  const head = c.converged
    ? `primary ${c.primary} at epoch ${c.epoch}, mirror ${c.mirror} synchronized, every copy at LSN ${c.lsn} within ${(c.waitedMs / 1000).toFixed(1)} s`
    : `not converged within ${(c.waitedMs / 1000).toFixed(1)} s: ${c.detail}`;
  return copies ? `${head}; ${copies}` : head;
}
