// Wire messages between the processes. Text messages are a union keyed on `type` (after Jepsen's
// Maelstrom); log entries travel as binary frames (see log-format.ts), never re-encoded.

import type { CopyMode, NodeRole } from './topology.ts';

// Headers every internal request carries; internal routes refuse requests without the secret.
export const HEADER_NODE_ID = 'x-mirrorlab-node';
export const HEADER_EPOCH = 'x-mirrorlab-epoch';

// Marks control-plane traffic: control delivering fault rules, pausing or crashing a node,
// collecting events. The link layer never applies fault rules to it, in either direction.
export const HEADER_PLANE = 'x-mirrorlab-plane';

export function authHeaders(secret: string, nodeId: string, epoch?: number): Record<string, string> {
  const headers: Record<string, string> = { authorization: `Bearer ${secret}`, [HEADER_NODE_ID]: nodeId };
  if (epoch !== undefined) headers[HEADER_EPOCH] = String(epoch);
  return headers;
}

// The headers of a control-plane request (see HEADER_PLANE): authenticated, and exempt from faults.
export function controlPlaneHeaders(secret: string, nodeId: string): Record<string, string> {
  return { ...authHeaders(secret, nodeId), [HEADER_PLANE]: 'control' };
}

// Where an epoch began in a primary's log, like a PostgreSQL timeline history entry.
export interface EpochStart {
  epoch: number;
  // The first LSN written in this epoch.
  startLsn: number;
  primaryId: string;
}

// When a node's log writes are made durable: each entry, each group commit, or never (tests).
export type FsyncMode = 'always' | 'batch' | 'off';

// ---- Witness (node <-> control) ----

// The cluster as the witness records it: the epoch, its primary, and who holds the mirror slot
// (null after an automatic failover, until a node rejoins into it). Every heartbeat's answer and
// every announcement carries it.
export interface WitnessView {
  epoch: number;
  primaryId: string | null;
  mirrorId: string | null;
}

// The witness's answer to a heartbeat: its view, and every member's URLs (as peers reach it, as
// clients do): a node merges the ones it lacks into its peers, so a node that joined later can be
// the primary's mirror or a new primary.
export interface WitnessAnswer extends WitnessView {
  members: Record<string, { url: string; publicUrl: string }>;
}

// POST /internal/witness/mirror-state: the primary reports its mirror synchronized, or asks consent
// to stop waiting for it. It names the mirror it is about.
export interface MirrorStateReport {
  epoch: number;
  mirrorId: string;
  synchronized: boolean;
  seq: number;
}

// ---- Replication stream (WebSocket, replica connects to the primary at /internal/replicate) ----

// Replica -> primary
export interface HelloMessage {
  type: 'hello';
  nodeId: string;
  // The epoch the replica knows, and its last applied entry (0 when it has nothing).
  epoch: number;
  lsn: number;
  // Epoch of the entry at `lsn` (0 when none): a different epoch at the same LSN means divergence.
  lsnEpoch: number;
  mode: CopyMode;
  filter: string;
  region: string;
  // The replica found its state inconsistent with its log: it wants a snapshot whatever it holds.
  fullResync?: boolean;
}
export interface AckMessage {
  type: 'ack';
  lsn: number;
}
export type ReplicaMessage = HelloMessage | AckMessage;

// Primary -> replica
export interface HelloOkMessage {
  type: 'hello_ok';
  primaryId: string;
  epoch: number;
  // Each epoch and the LSN where it began (the primary's timeline history).
  epochHistory: EpochStart[];
  // partial: entries follow from fromLsn+1; full: a snapshot at snapshotLsn follows, then entries.
  resync: 'partial' | 'full';
  fromLsn: number;
}
export interface SnapshotChunkMessage {
  type: 'snapshot_chunk';
  lsn: number;
  epoch: number;
  // [key, value JSON, lsn of the entry that wrote it]
  items: Array<[string, string, number]>;
  last: boolean;
}
export interface HeartbeatMessage {
  type: 'heartbeat';
  epoch: number;
  // Every entry up to this LSN that passes the replica's filter has been sent on this socket.
  lsn: number;
  // The epoch of the primary's entry at `lsn` (what a filtered replica that skips to it records).
  lsnEpoch: number;
  ts: number;
}
export interface ErrorMessage {
  type: 'error';
  error: string;
  message: string;
  primaryId?: string;
  epoch?: number;
  // With error "diverged": the last LSN the replica shares with the primary.
  lsn?: number;
}
export type PrimaryMessage = HelloOkMessage | SnapshotChunkMessage | HeartbeatMessage | ErrorMessage;

// ---- Mirroring (HTTP, primary -> mirror) ----
// POST /internal/mirror/entries   body: frames (application/octet-stream)
//   headers: x-mirrorlab-epoch, x-mirrorlab-from-lsn (LSN of the first frame), x-mirrorlab-commit-lsn
//   200 {"type":"entries_ok","lsn":durableLsn}
// GET  /internal/mirror/position   200 MirrorPosition
// POST /internal/mirror/snapshot   body SnapshotChunkMessage JSON: full resync
// POST /internal/mirror/heartbeat  {"epoch","lsn","ts"}
export const HEADER_FROM_LSN = 'x-mirrorlab-from-lsn';
// On every request to the mirror: what the primary makes of it (its state and copy mode).
export const HEADER_MIRROR_STATE = 'x-mirrorlab-mirror-state';
export const HEADER_MIRROR_MODE = 'x-mirrorlab-mirror-mode';
// Mirror states, after SQL Server database mirroring (see services/node/src/mirroring/shipper.ts).
export type MirrorState = 'disconnected' | 'synchronizing' | 'synchronized' | 'suspended';
export const HEADER_COMMIT_LSN = 'x-mirrorlab-commit-lsn';
// On the position request: the primary's epoch history as JSON, for the mirror to adopt.
export const HEADER_EPOCH_HISTORY = 'x-mirrorlab-epoch-history';

export interface MirrorPosition {
  type: 'position_ok';
  nodeId: string;
  role: NodeRole;
  epoch: number;
  lsn: number;
  lsnEpoch: number;
}
export interface EntriesOk {
  type: 'entries_ok';
  lsn: number;
}

// Error bodies on every route: Maelstrom's definite / indefinite distinction is in the catalog.
export interface ErrorBody {
  error: string;
  message: string;
  [extra: string]: unknown;
}
