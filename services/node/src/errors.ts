// The data node's error catalog: one stable code per failure, its HTTP status, and whether the
// operation surely did not happen (definite) or may have happened (indefinite). Tests assert codes.

import { ApiError } from '../../../shared/http-errors.ts';

export const errors = {
  badKey: (key: string) =>
    new ApiError('bad_key', 400, `key "${key.slice(0, 80)}" is invalid: use 1-256 characters of A-Z a-z 0-9 . _ : / -`),
  badAck: (text: string, copiesMax: number) =>
    new ApiError('bad_ack', 400, `ack="${text}" is invalid: use local, sync, all, or a number of copies from 1 to ${copiesMax} (the primary counts)`),
  badQuery: (message: string) => new ApiError('bad_request', 400, message),
  badBody: (message: string) => new ApiError('bad_body', 400, message),
  valueTooLarge: (bytes: number, max: number) =>
    new ApiError('too_large', 413, `the value is ${bytes} bytes as JSON; the limit is ${max} bytes`),
  // Says who answered: "absent" is a read like any other, and a checker must know from which role.
  notFound: (key: string, servedBy: string, role: string) =>
    new ApiError('not_found', 404, `no key "${key}" here`, true, { servedBy, role }),
  notPrimary: (primaryId: string | null, primaryUrl: string | null, location: string | null) =>
    new ApiError(
      'not_primary',
      primaryUrl ? 307 : 503,
      primaryUrl
        ? `this node does not take writes; send them to the primary ${primaryId} at ${primaryUrl} (curl -L follows)`
        : 'this node does not take writes and knows of no primary right now; retry shortly',
      true,
      { primary: primaryId, primaryUrl },
      location ? { location } : {},
    ),
  standbyNotReadable: (nodeId: string) =>
    new ApiError('standby_not_readable', 503, `${nodeId} is the mirror, a standby that does not serve reads; read from the primary or a replica`),
  replicaBehind: (appliedLsn: number, minLsn: number) =>
    new ApiError('replica_behind', 504, `this copy has applied LSN ${appliedLsn}, below minLsn ${minLsn}; retry, wait longer (waitMs) or read from the primary`, true, { appliedLsn }),
  overloaded: () =>
    new ApiError('overloaded', 503, 'too many writes are waiting for their acknowledgement; retry shortly'),
  mirrorUnavailable: (lsn: number) =>
    new ApiError('mirror_unavailable', 503, `the mirror did not confirm LSN ${lsn} in time (MIRROR_POLICY=strict); the write is durable on the primary and may or may not survive a failover`, false, { lsn }),
  ackTimeout: (lsn: number, ackedBy: string[], pending: string[]) =>
    new ApiError('ack_timeout', 504, `LSN ${lsn} was not confirmed by ${pending.join(', ')} in time; the write is durable on ${ackedBy.join(', ')} and may or may not survive`, false, { lsn, ackedBy, pending }),
  // Refused up front: nothing was appended. Reads get it too: a primary without its lease may
  // already have been replaced, so what it holds may be stale (SPEC §3, linearizable reads).
  noQuorum: (what: 'writes' | 'reads') =>
    new ApiError('no_quorum', 503, `this primary hears neither its mirror nor the witness (or knows a newer epoch), so it refuses ${what} to avoid split brain; ${what === 'writes' ? 'the write did not happen' : 'read from the current primary'}`),
  // The entry is in the log, but the lease ran out (or a newer epoch appeared) while it waited.
  quorumLost: (lsn: number) =>
    new ApiError('quorum_lost', 503, `this primary lost its quorum (neither mirror nor witness answered, or a newer epoch exists) while LSN ${lsn} waited; the write may or may not survive a failover — read it back from the current primary`, false, { lsn }),
  roleEnded: (lsn: number) =>
    new ApiError('role_ended', 503, `this node stopped being primary while LSN ${lsn} waited for its acknowledgement; the write may or may not survive — read it back from the new primary`, false, { lsn }),
  notCommitted: (readIndex: number) =>
    new ApiError('not_committed', 503, `this primary cannot show LSN ${readIndex} yet: its mirror has not confirmed it, and a value it never confirms could vanish at a failover; retry`, true, { lsn: readIndex }),
  staleEpoch: (theirs: number, mine: number) =>
    new ApiError('stale_epoch', 409, `epoch ${theirs} is older than this node's epoch ${mine}; the sender must step down`, true, { epoch: mine }),
  unavailable: (message: string) => new ApiError('unavailable', 503, message),
  // ---- internal routes (peer traffic) ----
  badHeader: (message: string) => new ApiError('bad_request', 400, message),
  notMirror: (nodeId: string, role: string, epoch: number) =>
    new ApiError('not_mirror', 409, `${nodeId} is ${role}, not the mirror`, true, { role, epoch }),
  mirrorStopped: (nodeId: string) => new ApiError('not_mirror', 409, `${nodeId} stopped being the mirror`),
  badBatch: (message: string) => new ApiError('bad_batch', 400, message),
  // A batch that does not follow what the mirror holds: the primary resends from the mirror's position.
  gap: (message: string) => new ApiError('gap', 409, message),
  diverged: (lsn: number) => new ApiError('diverged', 409, `entry ${lsn} differs from the one this mirror holds`),
  needsFullResync: (lastLsn: number) =>
    new ApiError('needs_full_resync', 409, "the rollback point is below this node's snapshot; send a snapshot", true, { lsn: lastLsn }),
  badMode: (problems: readonly string[]) => new ApiError('bad_mode', 400, problems.join('; ')),
  notWebSocket: (path: string) => new ApiError('bad_request', 400, `open GET ${path} as a WebSocket`),
  badRegion: (header: string, region: string, regions: readonly string[]) =>
    new ApiError('bad_region', 400, `${header}: ${JSON.stringify(region)} is not a region (regions: ${regions.join(', ')})`, true, { valid: { regions } }),
  writeFailed: (message: string) => new ApiError('write_failed', 500, message, false),
};
