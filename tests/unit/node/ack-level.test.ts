// Goal: ack levels wait for exactly the copies SPEC §3 names: sync-mode copies for `sync` (the
// mirror only while it is waited for), every connected copy for `all`, n copies in all for `<n>`.

import { describe, expect, it } from 'vitest';
import { ackProgress, parseAckLevel } from '../../../services/node/src/commit/ack-level.ts';
import type { CopyInfo } from '../../../services/node/src/commit/copy-registry.ts';

function copy(id: string, kind: CopyInfo['kind'], mode: CopyInfo['mode'], ackedLsn: number, connected = true): CopyInfo {
  return { id, kind, mode, ackedLsn, connected, lastAckAt: 0, filter: '', region: '' };
}

describe('parseAckLevel', () => {
  it('accepts local, sync (the default), all and 1..max', () => {
    expect(parseAckLevel(undefined, 5)).toEqual({ kind: 'sync' });
    expect(parseAckLevel('local', 5)).toEqual({ kind: 'local' });
    expect(parseAckLevel('all', 5)).toEqual({ kind: 'all' });
    expect(parseAckLevel('1', 5)).toEqual({ kind: 'local' });
    expect(parseAckLevel('3', 5)).toEqual({ kind: 'count', n: 3 });
  });
  it('refuses everything else', () => {
    for (const bad of ['0', '6', '-1', '2.5', 'most', '', ' 2', '1e1']) expect(parseAckLevel(bad, 5)).toBeNull();
  });
});

describe('ackProgress', () => {
  const copies = [copy('mirror', 'mirror', 'sync', 10), copy('r1', 'replica', 'async', 5), copy('r2', 'replica', 'sync', 10), copy('r3', 'replica', 'async', 0, false)];

  it('local is satisfied at once and reports who has it', () => {
    const p = ackProgress({ kind: 'local' }, 10, 'primary', copies, true);
    expect(p).toMatchObject({ satisfied: true, ackedBy: ['primary', 'mirror', 'r2'], pending: ['r1'] });
  });

  it('sync waits for sync copies only; the mirror only while waited for', () => {
    expect(ackProgress({ kind: 'sync' }, 10, 'primary', copies, true).satisfied).toBe(true);
    const behind = ackProgress({ kind: 'sync' }, 11, 'primary', copies, true);
    expect(behind.missing).toEqual(['mirror', 'r2']);
    expect(ackProgress({ kind: 'sync' }, 11, 'primary', copies, false).missing).toEqual(['r2']);
  });

  it('all waits for every connected copy', () => {
    const p = ackProgress({ kind: 'all' }, 10, 'primary', copies, true);
    expect(p.satisfied).toBe(false);
    expect(p.missing).toEqual(['r1']);
  });

  it('all is never weaker than sync: a waited-for mirror counts even while disconnected', () => {
    const cutOff = [copy('mirror', 'mirror', 'sync', 5, false), copy('r1', 'replica', 'async', 5, false)];
    expect(ackProgress({ kind: 'all' }, 6, 'primary', cutOff, true)).toMatchObject({ satisfied: false, missing: ['mirror'] });
    expect(ackProgress({ kind: 'all' }, 6, 'primary', cutOff, false).satisfied).toBe(true);
  });

  it('n counts the primary and any copies', () => {
    expect(ackProgress({ kind: 'count', n: 3 }, 10, 'primary', copies, true).satisfied).toBe(true);
    expect(ackProgress({ kind: 'count', n: 4 }, 10, 'primary', copies, true).satisfied).toBe(false);
    expect(ackProgress({ kind: 'count', n: 4 }, 5, 'primary', copies, true).satisfied).toBe(true);
  });
});
