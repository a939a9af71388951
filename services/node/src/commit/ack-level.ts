// Ack levels (SPEC §3): when a write may be acknowledged. Pure functions over the copy registry.
//   local  once durable on the primary alone
//   sync   once every copy whose mode is sync has it durable (the mirror only while it is waited for)
//   all    once every connected copy has it durable
//   <n>    once n copies in all have it, the primary counting as one

import type { CopyInfo } from './copy-registry.ts';

export type AckLevel = { kind: 'local' } | { kind: 'sync' } | { kind: 'all' } | { kind: 'count'; n: number };

export function ackLevelName(level: AckLevel): string {
  return level.kind === 'count' ? String(level.n) : level.kind;
}

// Parses ?ack=; null when invalid. `copiesMax` counts the primary.
export function parseAckLevel(text: string | undefined, copiesMax: number): AckLevel | null {
  if (text === undefined || text === 'sync') return { kind: 'sync' };
  if (text === 'local') return { kind: 'local' };
  if (text === 'all') return { kind: 'all' };
  if (!/^[0-9]{1,3}$/.test(text)) return null;
  const n = Number(text);
  if (n < 1 || n > copiesMax) return null;
  return n === 1 ? { kind: 'local' } : { kind: 'count', n };
}

export interface AckProgress {
  satisfied: boolean;
  ackedBy: string[];
  // Copies that do not have it yet; `missing` are those among them the level waits for.
  pending: string[];
  missing: string[];
}

// Where a write at `lsn` stands. `mirrorWaited` says whether a sync-mode mirror must confirm
// sync writes now (false while it is not synchronized under MIRROR_POLICY=degrade).
export function ackProgress(
  level: AckLevel,
  lsn: number,
  selfId: string,
  copies: readonly CopyInfo[],
  mirrorWaited: boolean,
): AckProgress {
  const ackedBy = [selfId, ...copies.filter((c) => c.ackedLsn >= lsn).map((c) => c.id)];
  const lacking = (c: CopyInfo) => c.ackedLsn < lsn;
  let required: CopyInfo[];
  switch (level.kind) {
    case 'local':
      return { satisfied: true, ackedBy, pending: copies.filter((c) => c.connected && lacking(c)).map((c) => c.id), missing: [] };
    case 'sync':
      required = copies.filter((c) => c.mode === 'sync' && (c.kind === 'replica' || mirrorWaited));
      break;
    case 'all':
      // Every connected copy, and never less than `sync`: a mirror that sync writes still wait
      // for (it left synchronized, the witness has not consented yet) counts even while cut off.
      required = copies.filter((c) => c.connected || (c.kind === 'mirror' && c.mode === 'sync' && mirrorWaited));
      break;
    case 'count': {
      const pending = copies.filter((c) => c.connected && lacking(c)).map((c) => c.id);
      const satisfied = ackedBy.length >= level.n;
      return { satisfied, ackedBy, pending, missing: satisfied ? [] : pending };
    }
  }
  const pending = required.filter(lacking).map((c) => c.id);
  const others = copies.filter((c) => c.connected && lacking(c) && !pending.includes(c.id)).map((c) => c.id);
  return { satisfied: pending.length === 0, ackedBy, pending: [...pending, ...others], missing: pending };
}
