// Goal: the chaos checker judges synthetic histories right: it finds a lost acknowledged write (and
// tells a degraded ack=sync loss apart), an epoch with two writers, a duplicate (epoch, LSN),
// recovered indeterminate writes, phantoms (failed definitely yet present), keys nobody wrote,
// stale reads with their staleness, failovers with their fault, and copies that did not converge;
// ack=local losses are reported without failing the verdict.

import { describe, expect, it } from 'vitest';
import { type CheckInput, checkHistory, type Convergence, type FinalItem } from '../../../scripts/chaos/checker.ts';
import type { AckName, Op, ReadOp, WriteOp } from '../../../scripts/chaos/history.ts';
import { renderReport } from '../../../scripts/chaos/report.ts';

let nextId = 1;
function write(seq: number, ack: AckName, result: WriteOp['result'], extra: Partial<WriteOp> = {}): WriteOp {
  const key = `w/0/${String(seq).padStart(9, '0')}`;
  return {
    type: 'write', id: nextId++, client: 0, key, value: { n: seq }, ack, node: 'primary', servedBy: 'primary', redirected: false,
    startMs: seq * 10, endMs: seq * 10 + 5, result, status: result === 'ok' ? 200 : 503, error: result === 'ok' ? null : 'ack_timeout',
    lsn: result === 'ok' ? seq : null, epoch: result === 'ok' ? 1 : null, ackedBy: result === 'ok' ? ['primary', 'mirror'] : [], pending: [], degraded: result === 'ok' ? false : null,
    ...extra,
  };
}

function read(of: WriteOp, extra: Partial<ReadOp> = {}): ReadOp {
  return {
    type: 'read', id: nextId++, client: 1, key: of.key, writeId: of.id, node: 'replica-1', servedBy: 'replica-1', role: 'replica',
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
});
