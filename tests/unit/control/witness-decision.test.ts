// Goal: the witness's automatic-failover rule (SQL Server's), apart from any I/O: it grants only to
// the holder of the mirror slot, at the current epoch, when the mirror was synchronized and the
// witness too has not heard the primary for FAILOVER_TIMEOUT_MS; the grant is the next epoch.

import { describe, expect, it } from 'vitest';
import { decideAutomaticFailover, emptyRecord, type WitnessRecord } from '../../../services/control/src/witness/witness-state.ts';

const record = (changes: Partial<WitnessRecord> = {}): WitnessRecord => ({
  ...emptyRecord(),
  epoch: 4,
  primaryId: 'primary',
  mirrorId: 'mirror',
  mirrorSynchronized: true,
  ...changes,
});

describe('decideAutomaticFailover', () => {
  it('grants the next epoch to a synchronized slot holder once the primary is silent long enough', () => {
    expect(decideAutomaticFailover(record(), { id: 'mirror', epoch: 4 }, 1500, 1500)).toEqual({ granted: true, epoch: 5 });
  });

  it('refuses while the witness still hears the primary', () => {
    const decision = decideAutomaticFailover(record(), { id: 'mirror', epoch: 4 }, 1499, 1500);
    expect(decision.granted).toBe(false);
  });

  it('refuses a mirror that was not synchronized (it may lack acknowledged writes)', () => {
    expect(decideAutomaticFailover(record({ mirrorSynchronized: false }), { id: 'mirror', epoch: 4 }, 5000, 1500).granted).toBe(false);
  });

  it('refuses a node outside the slot, an empty slot, and a candidate at another epoch', () => {
    expect(decideAutomaticFailover(record(), { id: 'replica-1', epoch: 4 }, 5000, 1500).granted).toBe(false);
    expect(decideAutomaticFailover(record({ mirrorId: null }), { id: 'mirror', epoch: 4 }, 5000, 1500).granted).toBe(false);
    expect(decideAutomaticFailover(record(), { id: 'mirror', epoch: 3 }, 5000, 1500).granted).toBe(false);
    expect(decideAutomaticFailover(record(), { id: 'mirror', epoch: 5 }, 5000, 1500).granted).toBe(false);
  });
});
