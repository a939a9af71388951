// Goal: the chaos checker judges synthetic histories right: it finds a lost acknowledged write (and
// tells a degraded ack=sync loss apart), an epoch with two writers, a duplicate (epoch, LSN),
// recovered indeterminate writes, phantoms (failed definitely yet present), keys nobody wrote,
// stale reads with their staleness (failing the verdict when a primary served one), failovers with
// their fault, copies that did not converge, and keys whose primary reads and ack=sync/ack=all
// writes are not linearizable (or could not be searched), with the operations that show it; the
// definite flag of an error answer decides whether a failed write may still have taken effect;
// ack=local losses are reported without failing the verdict.

import { describe, expect, it } from 'vitest';
import { type CheckInput, checkHistory, type Convergence, type FinalItem } from '../../../scripts/chaos/checker.ts';
import { type AckName, type Op, type ReadOp, registerKey, type WriteOp, writeOutcome } from '../../../scripts/chaos/history.ts';
import { linearizabilityDefaults } from '../../../scripts/chaos/linearizable-keys.ts';
import { renderReport } from '../../../scripts/chaos/report.ts';

let nextId = 1;
function write(seq: number, ack: AckName, result: WriteOp['result'], extra: Partial<WriteOp> = {}): WriteOp {
  const key = `w/0/${String(seq).padStart(9, '0')}`;
  return {
    type: 'write', id: nextId++, client: 0, key, value: { n: seq }, ack, node: 'primary', servedBy: 'primary', redirected: false,
    startMs: seq * 10, endMs: seq * 10 + 5, result, status: result === 'ok' ? 200 : 503, error: result === 'ok' ? null : 'ack_timeout', definite: result === 'ok' ? null : result === 'fail',
    lsn: result === 'ok' ? seq : null, epoch: result === 'ok' ? 1 : null, ackedBy: result === 'ok' ? ['primary', 'mirror'] : [], pending: [], degraded: result === 'ok' ? false : null,
    ...extra,
  };
}

function read(of: WriteOp, extra: Partial<ReadOp> = {}): ReadOp {
  return {
    type: 'read', id: nextId++, client: 1, key: of.key, writeId: of.id, via: 'get', node: 'replica-1', targetRole: 'replica', servedBy: 'replica-1', role: 'replica',
    startMs: of.endMs + 1, endMs: of.endMs + 3, result: 'ok', status: 200, error: null, found: true, lsn: of.lsn, value: of.value, appliedLsn: of.lsn, ...extra,
  };
}

const converged: Convergence = {
  converged: true, detail: 'converged', primary: 'primary', epoch: 1, mirror: 'mirror', lsn: 100, waitedMs: 500,
  copies: [{ id: 'mirror', role: 'mirror', match: true, appliedLsn: 100 }, { id: 'replica-1', role: 'replica', match: true, appliedLsn: 100 }],
};

function finalOf(ops: readonly Op[], except: readonly string[] = []): Map<string, FinalItem> {
  const final = new Map<string, FinalItem>();
  for (const op of ops) if (op.type === 'write' && op.result === 'ok' && !except.includes(op.key)) final.set(op.key, { value: op.value, lsn: op.lsn ?? 0 });
  return final;
}

function input(ops: Op[], final: Map<string, FinalItem> | null, over: Partial<CheckInput> = {}): CheckInput {
  return { ops, final, convergence: converged, nemesis: [], failovers: [], rolledBack: [], unexpectedExits: [], ...over };
}

const check = (result: ReturnType<typeof checkHistory>, name: string) => result.checks.find((c) => c.name.startsWith(name));

describe('chaos checker', () => {
  it('passes a clean history and counts per ack level', () => {
    const ops = [write(1, 'local', 'ok'), write(2, 'sync', 'ok'), write(3, 'all', 'ok'), write(4, 'sync', 'fail', { error: 'no_quorum' })];
    const result = checkHistory(input(ops, finalOf(ops)));
    expect(result.pass).toBe(true);
    expect(result.rows.sync).toMatchObject({ attempted: 2, ok: 1, failed: 1, lost: 0 });
    expect(result.rows.local).toMatchObject({ attempted: 1, ok: 1 });
  });

  it('finds a lost ack=sync write, shows a degraded one apart, and fails the verdict', () => {
    const protectedWrite = write(1, 'sync', 'ok');
    const degradedWrite = write(2, 'sync', 'ok', { degraded: true, ackedBy: ['primary'] });
    const ops = [protectedWrite, degradedWrite, write(3, 'sync', 'ok')];
    const rolledBack = [{ node: 'primary', key: protectedWrite.key, lsn: 1, epoch: 1, file: '/d/primary/rollback/r.jsonl' }];
    const result = checkHistory(input(ops, finalOf(ops, [protectedWrite.key, degradedWrite.key]), { rolledBack }));
    expect(result.pass).toBe(false);
    expect(result.rows.sync).toMatchObject({ ok: 3, okDegraded: 1, okAlone: 1, lost: 2, lostDegraded: 1 });
    expect(result.lost.map((l) => l.key)).toEqual([protectedWrite.key, degradedWrite.key]);
    expect(result.lost[0]?.rolledBack).toEqual(rolledBack);
    expect(check(result, 'no acknowledged ack=sync write lost')).toMatchObject({ ok: false, severity: 'fail', detail: expect.stringContaining('lost 1 acknowledged by the mirror, 1 acknowledged degraded') });
  });

  it('fails on a lost ack=all write too', () => {
    const ops = [write(1, 'all', 'ok', { ackedBy: ['primary'] })];
    const result = checkHistory(input(ops, new Map()));
    expect(result.pass).toBe(false);
    expect(result.rows.all).toMatchObject({ lost: 1, okAlone: 1 });
  });

  it('reports ack=local losses without failing', () => {
    const lost = write(1, 'local', 'ok');
    const ops = [lost, write(2, 'sync', 'ok')];
    const result = checkHistory(input(ops, finalOf(ops, [lost.key])));
    expect(result.rows.local.lost).toBe(1);
    expect(result.pass).toBe(true);
    expect(check(result, 'ack=local losses')).toMatchObject({ ok: false, severity: 'info' });
  });

  it('counts indeterminate writes that survived as recovered, and definite failures that survived as phantoms', () => {
    const timedOut = write(1, 'sync', 'info', { error: 'ack_timeout', lsn: 1 });
    const lostInFlight = write(2, 'sync', 'info', { error: 'timeout' });
    const refused = write(3, 'local', 'fail', { error: 'no_quorum' });
    const ops = [timedOut, lostInFlight, refused];
    const final = new Map<string, FinalItem>([[timedOut.key, { value: timedOut.value, lsn: 1 }], [refused.key, { value: refused.value, lsn: 3 }]]);
    const result = checkHistory(input(ops, final));
    expect(result.rows.sync).toMatchObject({ indeterminate: 2, recovered: 1, lost: 0 });
    expect(result.rows.local).toMatchObject({ failed: 1, phantom: 1 });
    expect(result.phantoms.map((w) => w.key)).toEqual([refused.key]);
    expect(result.pass).toBe(false);
  });

  it('finds an epoch with two writers and an (epoch, LSN) acknowledged for two keys', () => {
    const a = write(1, 'sync', 'ok', { lsn: 7, epoch: 3, ackedBy: ['primary', 'mirror'] });
    const b = write(2, 'sync', 'ok', { lsn: 7, epoch: 3, ackedBy: ['mirror', 'primary'], servedBy: 'mirror' });
    const ops = [a, b];
    const result = checkHistory(input(ops, finalOf(ops)));
    expect(result.twoWriterEpochs).toEqual([expect.objectContaining({ epoch: 3, nodes: ['mirror', 'primary'] })]);
    expect(result.duplicateLsns).toEqual([{ epoch: 3, lsn: 7, keys: [a.key, b.key] }]);
    expect(check(result, 'one writer per epoch')).toMatchObject({ ok: false, detail: 'epoch 3: mirror and primary' });
    expect(result.pass).toBe(false);
  });

  it('finds keys nobody wrote and values that differ from what was written', () => {
    const w = write(1, 'sync', 'ok');
    const final = new Map<string, FinalItem>([[w.key, { value: { n: 'other' }, lsn: 1 }], ['w/9/000000001', { value: 1, lsn: 2 }], ['elsewhere', { value: 1, lsn: 3 }]]);
    const result = checkHistory(input([w], final));
    expect(result.unexpected).toEqual(['w/9/000000001']);
    expect(result.corrupted).toHaveLength(1);
    expect(result.pass).toBe(false);
  });

  it('finds stale reads with their staleness, and ignores reads of writes lost later', () => {
    const w1 = write(1, 'local', 'ok', { lsn: 50 });
    const w2 = write(2, 'sync', 'ok', { lsn: 60 });
    const lost = write(3, 'local', 'ok', { lsn: 70 });
    const stale = read(w1, { found: false, value: undefined, lsn: null, appliedLsn: null, status: 404, probedAppliedLsn: 44 });
    const fresh = read(w2);
    const concurrent = read(w2, { found: false, startMs: w2.endMs - 2, status: 404 });
    const seenThenLost = read(lost);
    const ops = [w1, w2, lost, stale, fresh, concurrent, seenThenLost];
    const result = checkHistory(input(ops, finalOf(ops, [lost.key])));
    expect(result.staleReads).toEqual([expect.objectContaining({ key: w1.key, stalenessLsns: 6, role: 'replica' })]);
    expect(result.rows.local).toMatchObject({ staleReads: 1, stalenessMaxLsns: 6, seenThenLost: 1 });
    expect(result.staleByRole).toEqual({ replica: 1 });
  });

  it('ties each failover to the fault before it and times the first acknowledged write', () => {
    const before = write(1, 'sync', 'ok', { epoch: 1, endMs: 900 });
    const after = write(2, 'sync', 'ok', { epoch: 2, lsn: 2, startMs: 2500, endMs: 2600, ackedBy: ['mirror'], servedBy: 'mirror' });
    const nemesis = [
      { index: 0, kind: 'pause', description: 'pause the mirror', targets: ['mirror'], startedMs: 100, healedMs: 500 },
      { index: 1, kind: 'kill', description: 'kill -9 the primary', targets: ['primary'], startedMs: 1000, healedMs: 4000 },
    ];
    const result = checkHistory(input([before, after], finalOf([before, after]), { nemesis, failovers: [{ epoch: 2, atMs: 2550, from: 'primary', to: 'mirror' }] }));
    expect(result.failovers).toEqual([expect.objectContaining({ epoch: 2, to: 'mirror', faultToGrantMs: 1550, firstAckMs: 2600, faultToFirstAckMs: 1600, fault: expect.objectContaining({ index: 1 }) })]);
    expect(result.pass).toBe(true);
  });

  it('fails when the copies did not converge, the final state is unknown, or a process died by itself', () => {
    const ops = [write(1, 'sync', 'ok')];
    const notConverged = checkHistory(input(ops, finalOf(ops), { convergence: { ...converged, converged: false, detail: 'mirror is synchronizing' } }));
    expect(check(notConverged, 'the copies converged')).toMatchObject({ ok: false, detail: expect.stringContaining('mirror is synchronizing') });
    const mismatch = checkHistory(input(ops, finalOf(ops), { convergence: { ...converged, copies: [{ id: 'mirror', role: 'mirror', match: false, appliedLsn: 100 }] } }));
    expect(mismatch.pass).toBe(false);
    expect(checkHistory(input(ops, null)).pass).toBe(false);
    const exited = checkHistory(input(ops, finalOf(ops), { unexpectedExits: [{ id: 'replica-2', atMs: 5000, description: 'exited with code 1' }] }));
    expect(check(exited, 'no process exited')).toMatchObject({ ok: false, detail: expect.stringContaining('replica-2') });
  });

  it('renders the per-ack table and the verdict', () => {
    const lost = write(1, 'sync', 'ok');
    const ops = [lost, write(2, 'local', 'ok'), write(3, 'all', 'ok')];
    const text = renderReport(checkHistory(input(ops, finalOf(ops, [lost.key]))), { seed: 9, durationS: 30, nemesis: ['kill'], concurrency: 2, runDir: '/tmp/run', stepsPlanned: 3, stepsRun: 3 });
    for (const ack of ['ack=local', 'ack=sync', 'ack=all']) expect(text).toContain(ack);
    expect(text).toContain(`${lost.key} ack=sync lsn=1 epoch=1 ackedBy=[primary,mirror]`);
    expect(text).toMatch(/FAIL {2}no acknowledged ack=sync write lost/);
    expect(text.trimEnd().endsWith('verdict: FAIL')).toBe(true);
  });

  it('fails on a stale read served by a primary, and only reports one served by a replica', () => {
    const w = write(1, 'sync', 'ok');
    const onReplica = read(w, { found: false, value: undefined, status: 404, role: null, servedBy: null });
    const onPrimary = read(w, { via: 'list', node: 'primary', targetRole: 'primary', servedBy: 'primary', role: 'primary', found: false, value: undefined, status: 200, appliedLsn: 0 });
    const replicaOnly = checkHistory(input([w, onReplica], finalOf([w])));
    expect(replicaOnly.pass).toBe(true);
    expect(replicaOnly.staleByRole).toEqual({ 'replica?': 1 });
    expect(check(replicaOnly, 'no stale read served by a primary')).toMatchObject({ ok: true });
    const both = checkHistory(input([w, onReplica, onPrimary], finalOf([w])));
    expect(both.staleOnPrimary).toEqual([expect.objectContaining({ key: w.key, node: 'primary', role: 'primary' })]);
    expect(check(both, 'no stale read served by a primary')).toMatchObject({ ok: false, severity: 'fail', detail: expect.stringContaining(`1 of 1: ${w.key} on primary`) });
    expect(both.pass).toBe(false);
  });

  it('finds a register key whose primary reads are not linearizable and names the operations', () => {
    const key = registerKey(0, 0);
    const a = registerWrite(key, 'a', 0, 10, 'sync');
    const b = registerWrite(key, 'b', 20, 30, 'all');
    const stale = registerRead(key, 'a', 40, 45);
    const result = checkHistory(input([a, b, registerRead(key, 'a', 12, 14), stale], new Map()));
    expect(result.linearizability).toMatchObject({ keysChecked: 1, linearizable: 0, unknown: [] });
    expect(result.linearizability.notLinearizable).toEqual([expect.objectContaining({ key, minimal: true })]);
    expect(result.linearizability.notLinearizable[0]?.explanation.map((op) => op.id)).toEqual([a.id, b.id, stale.id]);
    expect(check(result, 'primary reads and ack=sync/ack=all writes are linearizable')).toMatchObject({ ok: false, severity: 'fail', detail: expect.stringContaining('1 NOT linearizable') });
    // Register keys never count as lost: a later write overwrites them.
    expect(result.rows.sync.lost + result.rows.all.lost).toBe(0);
    expect(result.pass).toBe(false);
    const text = renderReport(result, { seed: 1, durationS: 5, nemesis: [], concurrency: 2, runDir: '/tmp/run', stepsPlanned: 0, stepsRun: 0 });
    expect(text).toContain(`NOT linearizable ${key} (4 operations)`);
    expect(text).toContain(`[0.040 s .. 0.045 s] read  #${stale.id} client 1 on primary as primary (applied LSN 10) saw {"v":"a"}`);
    expect(text).toContain(`[0.020 s .. 0.030 s] write #${b.id} client 0 {"v":"b"} ack=all acknowledged`);
  });

  it('leaves replica reads, reads whose answer names no role and keys written with ack=local out of the search', () => {
    const key = registerKey(1, 0);
    const a = registerWrite(key, 'a', 0, 10, 'sync');
    const b = registerWrite(key, 'b', 20, 30, 'sync');
    const onReplica = { ...registerRead(key, 'a', 40, 45), role: 'replica', servedBy: 'replica-1' };
    const noRole = { ...registerRead(key, null, 50, 55), role: null, servedBy: null, via: 'get' as const };
    expect(checkHistory(input([a, b, onReplica, noRole], new Map())).linearizability).toMatchObject({ keysChecked: 0, notLinearizable: [] });
    const local = registerWrite(registerKey(2, 0), 'a', 0, 10, 'local');
    const missed = registerRead(local.key, null, 20, 25);
    const result = checkHistory(input([local, missed], new Map()));
    expect(result.linearizability).toMatchObject({ keysChecked: 0, keysSkippedLocal: 1, notLinearizable: [] });
  });

  it('drops a write whose error said definite:true, and lets one without the flag take effect late', () => {
    const key = registerKey(3, 0);
    const failedWith = (body: Record<string, unknown>) => ({ ...registerWrite(key, 'z', 0, 10, 'sync'), ...writeOutcome({ status: 503, headers: {}, body }, null) });
    const sawZ = registerRead(key, 'z', 50, 55);
    const definite = checkHistory(input([failedWith({ error: 'no_quorum', message: 'it may or may not survive', definite: true }), sawZ], new Map()));
    expect(definite.linearizability.notLinearizable.map((v) => v.key)).toEqual([key]);
    for (const body of [{ error: 'no_quorum', message: 'the write did not happen', definite: false }, { error: 'no_quorum', message: 'the write did not happen' }]) {
      const indefinite = checkHistory(input([failedWith(body), sawZ], new Map()));
      expect(indefinite.linearizability).toMatchObject({ keysChecked: 1, linearizable: 1, notLinearizable: [] });
    }
  });

  it('explains a primary read of an unconfirmed write that the failover then discarded', () => {
    // As seed 31337 found: the isolated old primary served LSN 141, which its mirror never confirmed;
    // the mirror, promoted, served the older value.
    const key = registerKey(2, 0);
    const old = registerWrite(key, 'a', 1242, 1327, 'sync');
    const unconfirmed = { ...registerWrite(key, 'b', 2303, 5319, 'sync'), ...writeOutcome({ status: 503, headers: {}, body: { error: 'mirror_unavailable', message: 'm', definite: false, lsn: 141 } }, null) };
    const dirty = registerRead(key, 'b', 3417, 3418);
    const after = { ...registerRead(key, 'a', 3892, 3898), servedBy: 'mirror', node: 'mirror' };
    const result = checkHistory(input([old, unconfirmed, dirty, after], new Map()));
    const texts = result.linearizability.notLinearizable[0]?.explanation.map((op) => op.text);
    expect(texts).toEqual([
      expect.stringContaining(`write #${old.id}`),
      `[2.303 s .. open: answered at 5.319 s without effect known] write #${unconfirmed.id} client 0 {"v":"b"} ack=sync indeterminate (mirror_unavailable, definite:false) on primary LSN 141`,
      expect.stringContaining(`read  #${dirty.id} client 1 on primary as primary`),
      expect.stringContaining(`read  #${after.id} client 1 on mirror as primary`),
    ]);
  });

  it('fails the verdict when a key could not be searched within its bounds', () => {
    const key = registerKey(0, 1);
    const ops = [registerWrite(key, 'a', 0, 10, 'sync'), registerRead(key, 'a', 20, 25), registerRead(key, 'a', 30, 35)];
    const result = checkHistory(input(ops, new Map(), { linearizability: { ...linearizabilityDefaults, opsPerKeyMax: 2 } }));
    expect(result.linearizability.unknown).toEqual([{ key, operations: 3, reason: '3 operations, more than the 2 searched per key' }]);
    expect(check(result, 'primary reads and ack=sync/ack=all writes are linearizable')).toMatchObject({ ok: false, detail: expect.stringContaining('1 unknown (budget exceeded: not a pass)') });
    expect(result.pass).toBe(false);
  });
});

function registerWrite(key: string, v: string, startMs: number, endMs: number, ack: AckName): WriteOp {
  return { ...write(0, ack, 'ok'), key, value: { v }, startMs, endMs };
}

function registerRead(key: string, v: string | null, startMs: number, endMs: number): ReadOp {
  return {
    type: 'read', id: nextId++, client: 1, key, writeId: null, via: 'list', node: 'primary', targetRole: 'primary', servedBy: 'primary', role: 'primary',
    startMs, endMs, result: 'ok', status: 200, error: null, found: v !== null, lsn: null, ...(v === null ? {} : { value: { v } }), appliedLsn: 10,
  };
}
