// Every bound in the project, in one place (TIGER_STYLE: put a limit on everything).
// Units come last in the names. Config may override a few of these at boot; the rest are fixed.

const KiB = 1024;
const MiB = 1024 * KiB;

export const limits = {
  // Client API
  keyLengthMax: 256,
  valueBytesMax: 1 * MiB,
  // The HTTP body limit leaves room for JSON framing around a 1 MiB value.
  bodyBytesMax: 1 * MiB + 4 * KiB,
  listLimitDefault: 100,
  listLimitMax: 1000,
  readWaitMsDefault: 1000,
  readWaitMsMax: 30_000,
  readWaitersMax: 10_000,
  // Writes that wait for their fsync or their copies; past this the primary answers 503 overloaded.
  pendingWritesMax: 20_000,

  // Log and storage
  logSegmentBytesMax: 64 * MiB,
  commitBatchEntriesMax: 4096,
  commitBatchBytesMax: 8 * MiB,
  // The retained backlog that lets a copy resume by partial resync (like Redis' repl-backlog).
  backlogEntriesMax: 200_000,
  backlogBytesMax: 256 * MiB,
  // A snapshot is taken (and the log compacted) after this many entries since the last one.
  snapshotEveryEntries: 250_000,
  digestHistoryMax: 8192,

  // Mirroring (HTTP)
  mirrorBatchEntriesMax: 2048,
  mirrorBatchBytesMax: 4 * MiB,
  mirrorInflightMax: 4,
  mirrorRequestTimeoutMs: 2000,
  // A batch that arrives ahead of a gap waits this long for the gap to fill.
  mirrorGapWaitMs: 2000,

  // Replication (WebSocket)
  streamBatchEntriesMax: 1024,
  streamBatchBytesMax: 1 * MiB,
  // Above this many buffered bytes on a replica socket the sender waits (backpressure).
  streamBufferedBytesMax: 8 * MiB,
  snapshotChunkKeys: 2000,
  reconnectBackoffMsMin: 50,
  reconnectBackoffMsMax: 2000,

  // Control
  eventHistoryMax: 1000,
  faultRulesMax: 100,
  pauseMsMax: 60_000,
  latencyMsMax: 60_000,
  statusPollMs: 250,
  // A status poll waits this long at most, so GET /cluster stays about two poll periods fresh even
  // while a node hangs (paused, overloaded).
  statusPollTimeoutMs: 500,
  peerRequestTimeoutMs: 1000,
  // Live subscribers of GET /events, and what one may leave unread before it is disconnected.
  eventSubscribersMax: 64,
  eventSubscriberBufferedBytesMax: 4 * MiB,

  // Link layer (fault injection, shared/link.ts)
  // An answer held back by a drop or loss rule waits at most this long for the requester to give
  // up; then its connection is destroyed.
  linkHoldMsMax: 30_000,
  // A WebSocket that lost a message is stalled (TCP delivers in order: nothing after a lost
  // segment arrives). After this long the link resets it, as TCP's user timeout would.
  linkStallMsMax: 3000,
  // Bytes one WebSocket may have waiting in the link's latency queue; beyond, the link resets it.
  linkQueueBytesMax: 64 * MiB,
} as const;

export type Limits = typeof limits;
