// What the primary knows of its copies (the mirror and every replica): mode, connection, the LSN
// each has made durable. Writes wait here for the copies their ack level names, to a deadline.

import type { CopyMode } from '../../../../shared/topology.ts';
import { limits } from '../../../../shared/limits.ts';

export type CopyKind = 'mirror' | 'replica';

export interface CopyInfo {
  id: string;
  kind: CopyKind;
  mode: CopyMode;
  connected: boolean;
  ackedLsn: number;
  // When the copy last acknowledged anything (ms since the epoch), 0 if never.
  lastAckAt: number;
  filter: string;
  region: string;
}

interface Waiter {
  check: () => boolean;
  resolve: (satisfied: boolean) => void;
  timer: NodeJS.Timeout;
}

// Copies the registry will remember at most (the configured ones plus replicas that join later).
const COPIES_MAX = 64;

export class CopyRegistry {
  private readonly copies = new Map<string, CopyInfo>();
  private readonly waiters = new Set<Waiter>();

  get(id: string): CopyInfo | undefined {
    return this.copies.get(id);
  }

  list(kind?: CopyKind): CopyInfo[] {
    const all = [...this.copies.values()];
    return kind ? all.filter((c) => c.kind === kind) : all;
  }

  // Adds or updates a copy; returns null when the registry is full.
  upsert(info: Omit<CopyInfo, 'ackedLsn' | 'lastAckAt'> & { ackedLsn?: number }): CopyInfo | null {
    const existing = this.copies.get(info.id);
    if (!existing && this.copies.size >= COPIES_MAX) return null;
    const next: CopyInfo = {
      ackedLsn: 0,
      lastAckAt: 0,
      ...existing,
      ...info,
    };
    if (info.ackedLsn !== undefined) next.ackedLsn = info.ackedLsn;
    this.copies.set(info.id, next);
    this.changed();
    return next;
  }

  // Removes the copy if it is (still) of this kind: a node moves between the mirror slot and a
  // replica stream, and the end of its old channel must not erase its new one.
  remove(id: string, kind: CopyKind): void {
    if (this.copies.get(id)?.kind !== kind) return;
    this.copies.delete(id);
    this.changed();
  }

  // Records that `id`, reached as `kind`, has everything up to `lsn` durable. Acks never move
  // backwards; an ack from a channel the copy no longer uses is ignored.
  ack(id: string, kind: CopyKind, lsn: number): void {
    const copy = this.copies.get(id);
    if (!copy || copy.kind !== kind) return;
    copy.lastAckAt = Date.now();
    if (lsn <= copy.ackedLsn) return;
    copy.ackedLsn = lsn;
    this.changed();
  }

  setConnected(id: string, kind: CopyKind, connected: boolean): void {
    const copy = this.copies.get(id);
    if (!copy || copy.kind !== kind || copy.connected === connected) return;
    copy.connected = connected;
    this.changed();
  }

  setMode(id: string, mode: CopyMode): void {
    const copy = this.copies.get(id);
    if (!copy) return;
    copy.mode = mode;
    this.changed();
  }

  // Re-evaluates every waiting write: call after anything a check may read has changed.
  changed(): void {
    for (const waiter of this.waiters) {
      if (!waiter.check()) continue;
      clearTimeout(waiter.timer);
      this.waiters.delete(waiter);
      waiter.resolve(true);
    }
  }

  // Resolves true once `check` passes, false when `timeoutMs` passes first.
  waitUntil(check: () => boolean, timeoutMs: number): Promise<boolean> {
    if (check()) return Promise.resolve(true);
    if (this.waiters.size >= limits.pendingWritesMax) return Promise.resolve(false);
    return new Promise((resolve) => {
      const waiter: Waiter = {
        check,
        resolve,
        timer: setTimeout(() => {
          this.waiters.delete(waiter);
          resolve(false);
        }, timeoutMs),
      };
      this.waiters.add(waiter);
    });
  }

  // Fails every waiting write at once (the role is ending).
  failAll(): void {
    for (const waiter of this.waiters) {
      clearTimeout(waiter.timer);
      waiter.resolve(false);
    }
    this.waiters.clear();
  }
}
