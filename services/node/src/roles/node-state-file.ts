// The node's durable identity: its epoch, its role and the primary it follows. Written atomically
// (temp file, fsync, rename, fsync the directory) so a kill -9 leaves either the old or the new file.

import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { CopyMode, NodeRole } from '../../../../shared/topology.ts';

export interface PersistedNodeState {
  epoch: number;
  role: NodeRole;
  primaryId: string | null;
  // The mirror slot as this node last knew it (a primary mirrors to it).
  mirrorId: string | null;
  // Copy modes set live on this node while it was primary (id -> mode).
  modes: Record<string, CopyMode>;
  // Each epoch this node knew of and the LSN where it began, like PostgreSQL's timeline history.
  epochHistory: Array<{ epoch: number; startLsn: number; primaryId: string }>;
}

const FILE_NAME = 'node-state.json';

export async function readNodeState(dir: string): Promise<PersistedNodeState | null> {
  try {
    const parsed = JSON.parse(await readFile(join(dir, FILE_NAME), 'utf8')) as Partial<PersistedNodeState>;
    if (!Number.isSafeInteger(parsed.epoch) || typeof parsed.role !== 'string') return null;
    return { epoch: parsed.epoch as number, role: parsed.role, primaryId: parsed.primaryId ?? null, mirrorId: parsed.mirrorId ?? null, modes: parsed.modes ?? {}, epochHistory: parsed.epochHistory ?? [] };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

export async function writeNodeState(dir: string, state: PersistedNodeState): Promise<void> {
  await mkdir(dir, { recursive: true });
  const target = join(dir, FILE_NAME);
  const temp = `${target}.tmp`;
  const file = await open(temp, 'w');
  try {
    await file.writeFile(JSON.stringify(state, null, 2));
    await file.sync();
  } finally {
    await file.close();
  }
  await rename(temp, target);
  const dirHandle = await open(dir, 'r');
  try {
    await dirHandle.sync();
  } finally {
    await dirHandle.close();
  }
}
