// Goal: the timeline arithmetic a rejoin rests on. A copy that stopped at an entry of epoch E
// shares this history up to the LSN before the first later epoch began (its fork point); the epoch
// of any LSN is the last epoch that began at or before it; adding an epoch keeps one entry per
// epoch, in order.

import { describe, expect, it } from 'vitest';
import { addEpochStart, epochOfLsn, forkLsn } from '../../../services/node/src/roles/epoch-history.ts';

const history = [
  { epoch: 1, startLsn: 1, primaryId: 'primary' },
  { epoch: 2, startLsn: 40, primaryId: 'mirror' },
  { epoch: 4, startLsn: 90, primaryId: 'primary' },
];

describe('forkLsn', () => {
  it('is the LSN before the first later epoch, or Infinity when none began later', () => {
    expect(forkLsn(history, 1)).toBe(39);
    expect(forkLsn(history, 2)).toBe(89);
    // Epoch 3 never wrote here (granted, then replaced): its copies share everything before 4.
    expect(forkLsn(history, 3)).toBe(89);
    expect(forkLsn(history, 4)).toBe(Number.POSITIVE_INFINITY);
    expect(forkLsn([], 7)).toBe(Number.POSITIVE_INFINITY);
  });
});

describe('epochOfLsn', () => {
  it('is the last epoch that began at or before the LSN; 0 for LSN 0', () => {
    expect(epochOfLsn(history, 0)).toBe(0);
    expect(epochOfLsn(history, 1)).toBe(1);
    expect(epochOfLsn(history, 39)).toBe(1);
    expect(epochOfLsn(history, 40)).toBe(2);
    expect(epochOfLsn(history, 1000)).toBe(4);
  });
});

describe('addEpochStart', () => {
  it('keeps the history ordered with one entry per epoch, the new one winning', () => {
    const added = addEpochStart(history, { epoch: 3, startLsn: 70, primaryId: 'replica-1' });
    expect(added.map((p) => p.epoch)).toEqual([1, 2, 3, 4]);
    const replaced = addEpochStart(added, { epoch: 3, startLsn: 75, primaryId: 'replica-1' });
    expect(replaced.filter((p) => p.epoch === 3)).toEqual([{ epoch: 3, startLsn: 75, primaryId: 'replica-1' }]);
    expect(history).toHaveLength(3);
  });
});
