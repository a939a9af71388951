// What a node should do on hearing the witness's view: a pure function of (view, self), so the
// rules of who becomes what can be read and tested apart from the I/O of each transition
// (etcd raft keeps its core pure in the same way). data-node.ts carries the decision out.

import type { WitnessView } from '../../../../shared/protocol.ts';
import type { NodeRole } from '../../../../shared/topology.ts';

export interface SelfView {
  id: string;
  role: NodeRole;
  epoch: number;
  // The primary this node follows (itself when primary).
  primaryId: string | null;
}

export type RoleDecision =
  // The view is older, empty, or already what this node does.
  | { kind: 'stay' }
  | { kind: 'become-primary'; epoch: number; mirrorId: string | null }
  | { kind: 'become-mirror'; primaryId: string; epoch: number }
  | { kind: 'become-replica'; primaryId: string; epoch: number }
  // Same role, another primary or a newer epoch.
  | { kind: 'follow'; primaryId: string; epoch: number }
  // A stale primary while the mirror slot is free: it stays fenced and heartbeats, and the witness
  // gives it the slot (it must not guess a role in the meantime).
  | { kind: 'await-slot'; epoch: number };

// True when the view says exactly what this node is doing now.
export function viewAgrees(view: WitnessView, self: SelfView): boolean {
  if (view.epoch !== self.epoch || view.primaryId !== self.primaryId) return false;
  if (self.role === 'mirror') return view.mirrorId === self.id;
  if (self.role === 'replica') return view.mirrorId !== self.id;
  return view.primaryId === self.id;
}

export function decideRole(view: WitnessView, self: SelfView): RoleDecision {
  const primaryId = view.primaryId;
  if (!primaryId || view.epoch < self.epoch || viewAgrees(view, self)) return { kind: 'stay' };
  if (primaryId === self.id) {
    if (self.role === 'primary' && view.epoch === self.epoch) return { kind: 'stay' };
    return { kind: 'become-primary', epoch: view.epoch, mirrorId: view.mirrorId };
  }
  if (self.role === 'primary') {
    if (view.mirrorId === null) return { kind: 'await-slot', epoch: view.epoch };
    if (view.mirrorId === self.id) return { kind: 'become-mirror', primaryId, epoch: view.epoch };
    return { kind: 'become-replica', primaryId, epoch: view.epoch };
  }
  if (view.mirrorId === self.id && self.role !== 'mirror') return { kind: 'become-mirror', primaryId, epoch: view.epoch };
  if (view.mirrorId !== self.id && self.role === 'mirror') return { kind: 'become-replica', primaryId, epoch: view.epoch };
  return { kind: 'follow', primaryId, epoch: view.epoch };
}
