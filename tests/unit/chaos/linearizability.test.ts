// Goal: the register linearizability checker (Wing–Gong with memoization) says "linearizable" for
// histories that have a legal order — overlapping writes and reads, a write of unknown outcome that
// took effect late or never — and "not linearizable" for those that do not — a read of a value older
// than a write that completed before it, a read that goes back to an older value, a read of a value
// never written — answers "unknown" when a bound runs out, and shrinks a violation to the few
// operations that explain it. Hand-made histories, each checked in well under a second.

import { describe, expect, it } from 'vitest';
import { checkRegister, explainViolation, pruneUnobserved, type RegisterLimits, type RegisterOp } from '../../../scripts/chaos/linearizability.ts';

const limits: RegisterLimits = { opsPerKeyMax: 1000, stepsPerKeyMax: 1_000_000, keyBudgetMs: 5000 };

let nextId = 1;
const write = (value: string, callMs: number, returnMs: number): RegisterOp => ({ id: nextId++, kind: 'write', value: JSON.stringify(value), callMs, returnMs });
const indefinite = (value: string, callMs: number): RegisterOp => write(value, callMs, Infinity);
const read = (value: string | null, callMs: number, returnMs: number): RegisterOp => ({ id: nextId++, kind: 'read', value: value === null ? null : JSON.stringify(value), callMs, returnMs });

const verdict = (ops: RegisterOp[]) => checkRegister(ops, limits).verdict;

describe('register linearizability', () => {
  it('accepts overlapping writes and reads that some order explains', () => {
    // w(b) takes effect first although w(a) was invoked first; both overlap the first reads.
    const ops = [read(null, 0, 1), write('a', 0, 10), write('b', 5, 15), read('b', 6, 8), read('a', 20, 25), read('a', 26, 27)];
    expect(verdict(ops)).toBe('linearizable');
  });

  it('accepts a read that overlaps a write seeing either the old or the new value', () => {
    const w = write('a', 0, 10);
    expect(verdict([w, write('b', 20, 40), read('a', 25, 30)])).toBe('linearizable');
    expect(verdict([w, write('b', 20, 40), read('b', 25, 30), read('b', 41, 42)])).toBe('linearizable');
  });

  it('accepts a write of unknown outcome that took effect late, long after it was sent', () => {
    const ops = [write('a', 0, 10), indefinite('b', 5), read('a', 20, 25), read('a', 30, 35), read('b', 500, 510), read('b', 600, 610)];
    expect(verdict(ops)).toBe('linearizable');
  });

  it('accepts a write of unknown outcome that never took effect', () => {
    const ops = [write('a', 0, 10), indefinite('b', 12), read('a', 20, 25), read('a', 900, 905)];
    expect(verdict(ops)).toBe('linearizable');
    // It is dropped before the search: nobody saw it, so "never" is always a legal place for it.
    expect(pruneUnobserved(ops).map((op) => op.value)).not.toContain('"b"');
  });

  it('rejects a read of a value older than a write that completed before the read began', () => {
    expect(verdict([write('a', 0, 10), write('b', 20, 30), read('a', 40, 50)])).toBe('not_linearizable');
    // The initial "absent" is an old value too: a primary that missed an acknowledged write.
    expect(verdict([write('a', 0, 10), read(null, 20, 25)])).toBe('not_linearizable');
  });

  it('rejects a read that goes back to an older value after a read saw the newer one', () => {
    expect(verdict([write('a', 0, 10), write('b', 15, 50), read('b', 20, 25), read('a', 30, 35)])).toBe('not_linearizable');
    // Also when the newer write's outcome is unknown: once seen, it has taken effect.
    expect(verdict([write('a', 0, 10), indefinite('b', 15), read('b', 20, 25), read('a', 30, 35)])).toBe('not_linearizable');
  });

  it('rejects a read of a value never written, and one that saw a write before it was sent', () => {
    expect(verdict([write('a', 0, 10), read('z', 20, 25)])).toBe('not_linearizable');
    expect(verdict([read('b', 0, 5), indefinite('b', 10)])).toBe('not_linearizable');
  });

  it('counts operations that touch the same millisecond as concurrent, never as ordered', () => {
    // The write completes at 10, the read begins at 10: the clock cannot prove which came first.
    expect(verdict([write('a', 0, 5), write('b', 6, 10), read('a', 10, 12)])).toBe('linearizable');
  });

  it('answers unknown, not a verdict, when the operations, the steps or the time run out', () => {
    const ops = hardHistory(12);
    expect(checkRegister(ops, { ...limits, opsPerKeyMax: 10 })).toMatchObject({ verdict: 'unknown', reason: expect.stringContaining('more than the 10 searched per key') });
    expect(checkRegister(ops, { ...limits, stepsPerKeyMax: 100 })).toMatchObject({ verdict: 'unknown', reason: 'more than 100 search steps' });
    let clockMs = 0;
    const slowClock = () => (clockMs += 1000);
    expect(checkRegister(ops, limits, slowClock)).toMatchObject({ verdict: 'unknown', reason: 'more than 5000 ms of search' });
  });

  it('explains a violation with the few operations that make it one', () => {
    const w1 = write('a', 0, 10);
    const w2 = write('b', 20, 30);
    const stale = read('a', 40, 50);
    const noise = [read('a', 11, 12), read('b', 31, 32), write('c', 60, 70), read('c', 71, 72), indefinite('d', 65)];
    const found = explainViolation([w1, ...noise.slice(0, 2), w2, stale, ...noise.slice(2)], limits, 1000);
    expect(found).toEqual({ ops: [w1, w2, stale], minimal: true });
    const phantom = read('z', 80, 81);
    expect(explainViolation([w1, w2, read('b', 35, 36), phantom], limits, 1000).ops).toEqual([phantom]);
  });

  it('keeps the write a remaining read saw in an explanation', () => {
    const a = write('a', 0, 10);
    const b = indefinite('b', 15);
    const sawB = read('b', 20, 25);
    const backToA = read('a', 30, 35);
    expect(explainViolation([a, b, sawB, backToA, read('a', 12, 13)], limits, 1000).ops).toEqual([a, b, sawB, backToA]);
  });
});

// n writes and n reads all concurrent, each read of a different write's value, plus a read of a
// value nobody wrote: not linearizable, but only an exhaustive search proves it.
function hardHistory(n: number): RegisterOp[] {
  const ops: RegisterOp[] = [];
  for (let i = 0; i < n; i++) ops.push(write(`v${i}`, 0, 1000), read(`v${i}`, 0, 1000));
  ops.push(read('never', 0, 1000));
  return ops;
}
