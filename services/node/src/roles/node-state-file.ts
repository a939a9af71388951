// The node's durable identity: its epoch, its role and the primary it follows. Written atomically
// (shared/atomic-file.ts) so a kill -9 leaves either the old or the new file.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../../../../shared/atomic-file.ts';
import type { EpochStart } from '../../../../shared/protocol.ts';
import type { CopyMode, NodeRole } from '../../../../shared/topology.ts';

export interface PersistedNodeState {
  epoch: number;
  role: NodeRole;
  primaryId: string | null;
  // The mirror slot as this node last knew it (a primary mirrors to it).
  mirrorId: string | null;
  // The mirror slot's copy mode as set live (PUT /cluster/modes) while this node was primary; null
  // means MIRROR_MODE. It belongs to the slot, not to a node: whoever enters the slot gets it.
  mirrorSlotMode: CopyMode | null;
  // Replica copy modes set live on this node while it was primary (replica id -> mode).
  replicaModes: Record<string, CopyMode>;
  // Each epoch this node knew of and the LSN where it began, like PostgreSQL's timeline history.
  epochHistory: EpochStart[];
}

const FILE_NAME = 'node-state.json';

export async function readNodeState(dir: string): Promise<PersistedNodeState | null> {
  try {
    const parsed = JSON.parse(await readFile(join(dir, FILE_NAME), 'utf8')) as Partial<PersistedNodeState>;
    if (!Number.isSafeInteger(parsed.epoch) || typeof parsed.role !== 'string') return null;
    // Files written before the slot had its own mode kept every mode by node id under `modes`; the
    // mirror's entry there must not follow that node into a replica's life, so only replicas' are kept.
    const legacy = (parsed as { modes?: Record<string, CopyMode> }).modes ?? {};
    const replicaModes = parsed.replicaModes ?? Object.fromEntries(Object.entries(legacy).filter(([id]) => id !== parsed.mirrorId));
    return {
      epoch: parsed.epoch as number,
      role: parsed.role,
      primaryId: parsed.primaryId ?? null,
      mirrorId: parsed.mirrorId ?? null,
      mirrorSlotMode: parsed.mirrorSlotMode ?? null,
      replicaModes,
      epochHistory: parsed.epochHistory ?? [],
    };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

export async function writeNodeState(dir: string, state: PersistedNodeState): Promise<void> {
  await writeFileAtomic(join(dir, FILE_NAME), JSON.stringify(state, null, 2), {
    crashPoints: { tmpWritten: 'state-file.tmp-written', renamed: 'state-file.renamed' },
  });
}
