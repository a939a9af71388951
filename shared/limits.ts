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
  // A read on the primary waits at most this long for what it shows to be committed (the mirror
  // confirms it, or the primary stops waiting for a lost mirror with the witness's consent).
  readCommitWaitMs: 5000,
  // Writes that wait for their fsync or their copies; past this the primary answers 503 overloaded.
  pendingWritesMax: 20_000,

  // Every HTTP server (shared/http-server.ts)
  // Arrays and objects nested deeper than this in a JSON body are refused (400) before anything
  // walks them: JSON.stringify and the validators recurse, and 100,000 levels overflow the stack.
  jsonDepthMax: 1000,
  // A request (headers and body) must arrive in full within this, else 408 and the socket is
  // closed: a stalled or trickling body must not hold a connection and its parser forever.
  requestReceiveMsMax: 10_000,
  // How often a server looks for requests past that deadline (Node's default is 30 s).
  requestCheckIntervalMs: 1000,
  // A socket refused at the protocol level (a malformed request, a bad WebSocket handshake) is
  // closed once its answer is flushed, or after this long when the peer does not read it.
  refusedSocketFlushMsMax: 1000,

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
  // Key prefixes a node keeps a live digest of (filtered replicas, /cluster/verify): each costs
  // work on every write, so only this many; more are computed by a scan when asked for.
  trackedPrefixesMax: 16,

  // Mirroring (HTTP)
  mirrorBatchEntriesMax: 2048,
  mirrorBatchBytesMax: 4 * MiB,
  mirrorInflightMax: 4,
  // A request to the mirror waits at least this long (or SYNC_TIMEOUT_MS, if longer); each one that
  // times out doubles the next one's deadline up to the maximum, which outlasts any latency rule.
  mirrorRequestTimeoutMs: 2000,
  mirrorRequestTimeoutMsMax: 2 * 60_000 + 5000,
  // One chunk of a full resync snapshot (up to snapshotChunkKeys keys) gets at least this long.
  snapshotChunkTimeoutMs: 10_000,
  // A batch that arrives ahead of a gap waits this long for the gap to fill.
  mirrorGapWaitMs: 2000,

  // Replication (WebSocket)
  streamBatchEntriesMax: 1024,
  streamBatchBytesMax: 1 * MiB,
  // Above this many buffered bytes on a replica socket the sender waits (backpressure).
  streamBufferedBytesMax: 8 * MiB,
  snapshotChunkKeys: 2000,
  // Bytes of keys and values in one full-resync chunk past its first item: well under the mirror's
  // body limit (bodyBytesMax + mirrorBatchBytesMax) even with 1 MiB values.
  snapshotChunkBytesMax: 2 * MiB,
  // A replication stream may take this long to open (handshake, then the primary's first answer):
  // long enough for any latency rule a workshop sets, short enough to retry a dead primary.
  streamOpenTimeoutMs: 15_000,
  // An open stream silent for longer than this (and than twice its measured transit time) is dead.
  // Above any latency rule a workshop uses, so a link that turns slow is never taken for a dead one.
  streamSilenceMsMin: 5000,
  // One message on a replication WebSocket, either way: a batch of frames (streamBatchBytesMax), a
  // snapshot chunk (snapshotChunkBytesMax) or one entry with the largest value fit well within it.
  streamMessageBytesMax: 16 * MiB,
  reconnectBackoffMsMin: 50,
  reconnectBackoffMsMax: 2000,

  // A rollback the new primary asks of its mirror gets at least this long (it writes a file).
  rollbackRequestTimeoutMs: 10_000,
  // A planned failover's step-down: the primary drains for at most this long.
  stepDownTimeoutMsDefault: 5000,
  stepDownTimeoutMsMax: 30_000,

  // Control
  eventHistoryMax: 1000,
  // One message a dashboard may send on GET /events (it sends none that matter).
  eventMessageBytesMax: 64 * KiB,
  // An SSE stream carries a comment this often, so proxies and clients see it alive.
  sseKeepaliveMs: 15_000,
  // How long reset waits for the witness to name a reachable primary (a failover may be running).
  resetPrimaryWaitMs: 10_000,
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
  // POST /cluster/reset: the whole reset, one wait for a mirror to synchronize or the replicas to
  // catch up, and the longest pause it waits out (a longer one goes into its todo list).
  resetMsMax: 60_000,
  resetWaitMsMax: 30_000,
  resetPauseWaitMsMax: 30_000,
  resetPollMs: 100,
  // How long reset waits for a node that does not answer (it may be starting) before it lists it.
  resetBootWaitMs: 5000,
  // Data nodes control knows (PEERS and the ones that registered later). The WAN profile puts a
  // rule on every pair: 12 nodes make 66 rules, within faultRulesMax.
  membersMax: 12,
  // A node retries its registration with control this often, at most this many times.
  memberRegisterRetryMs: 1000,
  memberRegisterAttemptsMax: 60,

  // Idle keep-alive connections of every HTTP client agent are closed after this long.
  httpKeepAliveMs: 10_000,
  // Connections one process keeps to one peer for its peer traffic (mirroring, witness).
  peerConnectionsMax: 16,
  // A WebSocket connect through the link waits this long for its handshake unless told otherwise.
  webSocketHandshakeTimeoutMsDefault: 10_000,

  // Link layer (fault injection, shared/link.ts)
  // An answer held back by a drop or loss rule waits at most this long for the requester to give
  // up; then its connection is destroyed.
  linkHoldMsMax: 30_000,
  // A WebSocket that lost a message is stalled (TCP delivers in order: nothing after a lost
  // segment arrives). After this long the link resets it, as TCP's user timeout would.
  linkStallMsMax: 3000,
  // Bytes one WebSocket may have waiting in the link's latency queue; beyond, the link resets it.
  linkQueueBytesMax: 64 * MiB,

  // Traffic log (shared/traffic-log.ts): the peer messages each process sent recently, for the
  // dashboard's message view. A busy primary sends ~1000 messages a second: the ring holds a few.
  trafficRingMax: 4096,
  // One GET /internal/traffic answers at most this many records: the newest after the cursor.
  trafficFetchMax: 1000,
  // Control passes on at most this many (coalesced) records per node per second as `traffic`
  // events; more are sampled out evenly, and the event says how many.
  trafficRecordsPerNodePerSecondMax: 40,
  // Messages of one kind on one link within this span travel on as one record ("×12").
  trafficCoalesceMs: 100,
  // Records older than this when control collects them are too old for a live view.
  trafficAgeMsMax: 3000,

  // A node's /status summarizes its write latency per ack level over the last window, from at most
  // this many samples per level (past that, the newest ones).
  writeLatencyWindowMs: 1000,
  writeLatencySamplesMax: 2048,

  // Load generator (control's POST /load): writes per second to the current primary, for how
  // long, how many keys it cycles through (the state stays bounded), how many writes may wait for
  // their answer (past that a tick's writes are skipped, and counted), and each write's deadline.
  loadRateMax: 500,
  loadSecondsMax: 600,
  loadSecondsDefault: 300,
  loadKeysMax: 10_000,
  loadKeysDefault: 1000,
  loadInflightMax: 64,
  loadTickMs: 20,
  loadRequestTimeoutMs: 5000,
} as const;

export type Limits = typeof limits;
