// Goal: the rules by which a node follows the witness's view, apart from any I/O: who becomes
// primary, mirror or replica, when a node only follows a new primary, when a stale primary waits
// for the free mirror slot, and that an older view never moves anyone.

import { describe, expect, it } from 'vitest';
import { decideRole, type SelfView, viewAgrees } from '../../../services/node/src/roles/role-decision.ts';

const view = (epoch: number, primaryId: string | null, mirrorId: string | null) => ({ epoch, primaryId, mirrorId });
const self = (id: string, role: SelfView['role'], epoch: number, primaryId: string | null): SelfView => ({ id, role, epoch, primaryId });

describe('decideRole', () => {
  it('stays when the view agrees, is older, or names no primary', () => {
    expect(decideRole(view(2, 'p', 'm'), self('m', 'mirror', 2, 'p'))).toEqual({ kind: 'stay' });
    expect(decideRole(view(2, 'p', 'm'), self('r', 'replica', 2, 'p'))).toEqual({ kind: 'stay' });
    expect(decideRole(view(2, 'p', 'm'), self('p', 'primary', 2, 'p'))).toEqual({ kind: 'stay' });
    expect(decideRole(view(1, 'x', 'r'), self('r', 'replica', 2, 'p'))).toEqual({ kind: 'stay' });
    expect(decideRole(view(3, null, null), self('r', 'replica', 2, 'p'))).toEqual({ kind: 'stay' });
  });

  it('promotes the node the view names primary, at the view epoch and with its mirror slot', () => {
    expect(decideRole(view(3, 'm', null), self('m', 'mirror', 2, 'p'))).toEqual({ kind: 'become-primary', epoch: 3, mirrorId: null });
    expect(decideRole(view(3, 'r', 'm'), self('r', 'replica', 2, 'p'))).toEqual({ kind: 'become-primary', epoch: 3, mirrorId: 'm' });
    // A primary that learns of a newer epoch in which it is still primary (a forced re-election).
    expect(decideRole(view(4, 'p', 'm'), self('p', 'primary', 3, 'p'))).toEqual({ kind: 'become-primary', epoch: 4, mirrorId: 'm' });
  });

  it('steps a stale primary down into the slot the view gives it, or has it wait for a free slot', () => {
    expect(decideRole(view(3, 'm', 'p'), self('p', 'primary', 2, 'p'))).toEqual({ kind: 'become-mirror', primaryId: 'm', epoch: 3 });
    expect(decideRole(view(3, 'm', 'r'), self('p', 'primary', 2, 'p'))).toEqual({ kind: 'become-replica', primaryId: 'm', epoch: 3 });
    expect(decideRole(view(3, 'm', null), self('p', 'primary', 2, 'p'))).toEqual({ kind: 'await-slot', epoch: 3 });
  });

  it('moves nodes in and out of the mirror slot', () => {
    expect(decideRole(view(2, 'p', 'r'), self('r', 'replica', 2, 'p'))).toEqual({ kind: 'become-mirror', primaryId: 'p', epoch: 2 });
    expect(decideRole(view(2, 'p', 'r'), self('m', 'mirror', 2, 'p'))).toEqual({ kind: 'become-replica', primaryId: 'p', epoch: 2 });
    expect(decideRole(view(3, 'r', null), self('m', 'mirror', 2, 'p'))).toEqual({ kind: 'become-replica', primaryId: 'r', epoch: 3 });
  });

  it('has a copy in the same role follow a new primary or epoch', () => {
    expect(decideRole(view(3, 'm', 'p'), self('r', 'replica', 2, 'p'))).toEqual({ kind: 'follow', primaryId: 'm', epoch: 3 });
    expect(decideRole(view(3, 'q', 'm'), self('m', 'mirror', 2, 'p'))).toEqual({ kind: 'follow', primaryId: 'q', epoch: 3 });
  });
});

describe('viewAgrees', () => {
  it('needs the same epoch and primary, and the slot to match the role', () => {
    expect(viewAgrees(view(2, 'p', 'm'), self('m', 'mirror', 2, 'p'))).toBe(true);
    expect(viewAgrees(view(2, 'p', 'x'), self('m', 'mirror', 2, 'p'))).toBe(false);
    expect(viewAgrees(view(2, 'p', 'r'), self('r', 'replica', 2, 'p'))).toBe(false);
    expect(viewAgrees(view(3, 'p', 'm'), self('p', 'primary', 2, 'p'))).toBe(false);
  });
});
