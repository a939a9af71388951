// The witness's memory: the current primary and epoch, who holds the mirror slot, and whether the
// mirror is synchronized (as the primary last reported, with consent required to leave it). It is
// persisted so a control restart keeps it. Decisions are pure functions of this state and the time
// each node was last heard; the routes only do I/O around them.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../../../../shared/atomic-file.ts';

export interface WitnessRecord {
  epoch: number;
  primaryId: string | null;
  // The node holding the mirror slot; null after a failover until a node rejoins into it.
  mirrorId: string | null;
  // True only between the primary's "synchronized" report and its next request to leave it.
  mirrorSynchronized: boolean;
  // Orders the primary's reports, so a late "synchronized" never overrides a later release.
  // It restarts at 0 with every new epoch: each primary numbers its own reports.
  mirrorReportSeq: number;
}

export type FailoverDecision = { granted: true; epoch: number } | { granted: false; reason: string };

export const emptyRecord = (): WitnessRecord => ({ epoch: 0, primaryId: null, mirrorId: null, mirrorSynchronized: false, mirrorReportSeq: 0 });

// The witness grants a mirror's automatic failover only if the witness too has lost the primary,
// the candidate holds the mirror slot at the current epoch, and the mirror was synchronized.
export function decideAutomaticFailover(
  record: WitnessRecord,
  candidate: { id: string; epoch: number },
  primaryHeardMsAgo: number,
  failoverTimeoutMs: number,
): FailoverDecision {
  if (candidate.epoch !== record.epoch) return { granted: false, reason: `the candidate is at epoch ${candidate.epoch}, the cluster at ${record.epoch}` };
  if (record.mirrorId !== candidate.id) return { granted: false, reason: `${candidate.id} does not hold the mirror slot (${record.mirrorId ?? 'empty'})` };
  if (!record.mirrorSynchronized) return { granted: false, reason: 'the mirror was not synchronized: promoting it could lose acknowledged writes' };
  if (primaryHeardMsAgo < failoverTimeoutMs) {
    return { granted: false, reason: `the witness heard the primary ${Math.round(primaryHeardMsAgo)} ms ago (< FAILOVER_TIMEOUT_MS ${failoverTimeoutMs})` };
  }
  return { granted: true, epoch: record.epoch + 1 };
}

export class WitnessStore {
  record: WitnessRecord = emptyRecord();

  constructor(private readonly dir: string) {}

  async load(): Promise<WitnessRecord> {
    try {
      const parsed = JSON.parse(await readFile(join(this.dir, 'witness.json'), 'utf8')) as Partial<WitnessRecord>;
      if (Number.isSafeInteger(parsed.epoch)) this.record = { ...emptyRecord(), ...parsed };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    return this.record;
  }

  // Durable before anyone is told, and before the witness itself acts on it: a granted epoch must
  // survive a control crash, and a write that fails leaves the record (and the decision) as it was.
  async save(changes: Partial<WitnessRecord>): Promise<WitnessRecord> {
    const next = { ...this.record, ...changes };
    await writeFileAtomic(join(this.dir, 'witness.json'), JSON.stringify(next, null, 2), {
      crashPoints: { tmpWritten: 'witness-state.tmp-written', renamed: 'witness-state.renamed' },
    });
    this.record = next;
    return this.record;
  }
}
