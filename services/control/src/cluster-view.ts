// Control's view of the cluster: it polls every data node's GET /status and keeps the last answer
// per node, so GET /cluster answers at once from memory and is at most one poll period (plus one
// request timeout) old. The poll is one loop that awaits its own round before sleeping, so rounds
// never overlap, and each request is bounded by a timeout, so a hung node never stalls the loop.

import { Agent, request } from 'undici';
import type { Logger } from 'pino';
import { limits } from '../../../shared/limits.ts';
import type { Peer } from './config.ts';

// A data node's GET /status (SPEC §3). Control reads only the fields it reasons about and passes
// the rest through untouched, so a node may add fields without a change here.
export interface NodeStatus {
  id: string;
  role: string;
  epoch: number;
  [field: string]: unknown;
}

export interface UnreachableNode {
  id: string;
  reachable: false;
  error: string;
}

export interface ClusterSnapshot {
  primary: string | null;
  epoch: number;
  nodes: Record<string, NodeStatus | UnreachableNode>;
  faults: unknown[];
  updatedAt: string;
}

export interface ClusterViewOptions {
  peers: readonly Peer[];
  pollMs: number;
  requestTimeoutMs: number;
  logger: Logger;
}

type PollResult = { ok: true; status: NodeStatus } | { ok: false; error: string };

export class ClusterView {
  private readonly last = new Map<string, PollResult>();
  private readonly agent = new Agent({ keepAliveTimeout: limits.httpKeepAliveMs, connections: 2 });
  private readonly closing = new AbortController();
  private updatedAtMs = Date.now();
  private loop: Promise<void> | null = null;
  private firstRound: Promise<void> | null = null;
  private readonly roundListeners: Array<(snapshot: ClusterSnapshot) => void> = [];

  constructor(private readonly options: ClusterViewOptions) {
    for (const peer of options.peers) this.last.set(peer.id, { ok: false, error: 'not polled yet' });
  }

  // Starts the poll loop; the returned promise settles after the first round, so the first
  // GET /cluster already reflects every node. Calling it twice is a programming error.
  start(): Promise<void> {
    if (this.loop) throw new Error('cluster view already started');
    let roundDone!: () => void;
    this.firstRound = new Promise((resolve) => (roundDone = resolve));
    this.loop = this.run(roundDone);
    return this.firstRound;
  }

  // Stops the loop, aborting requests in flight, and waits until it has exited.
  async close(): Promise<void> {
    this.closing.abort();
    await this.loop;
    await this.agent.close();
  }

  // Waits for the first round when called early; afterwards resolves at once.
  async ready(): Promise<void> {
    await this.firstRound;
  }

  // Called after every poll round with the fresh snapshot (events, fault re-delivery, metrics).
  // Listeners must not block: the next round waits for them.
  onRound(listener: (snapshot: ClusterSnapshot) => void): void {
    this.roundListeners.push(listener);
  }

  snapshot(): ClusterSnapshot {
    const nodes: ClusterSnapshot['nodes'] = {};
    let primary: NodeStatus | null = null;
    let epoch = 0;
    for (const peer of this.options.peers) {
      const result = this.last.get(peer.id);
      if (!result?.ok) {
        nodes[peer.id] = { id: peer.id, reachable: false, error: result?.error ?? 'not polled yet' };
        continue;
      }
      const status = result.status;
      nodes[peer.id] = status;
      epoch = Math.max(epoch, status.epoch);
      // Two nodes may both say primary for a moment (an old one that has not heard of the new
      // epoch yet); the higher epoch is the one the cluster follows.
      if (status.role === 'primary' && (!primary || status.epoch > primary.epoch)) primary = status;
    }
    return { primary: primary?.id ?? null, epoch, nodes, faults: [], updatedAt: new Date(this.updatedAtMs).toISOString() };
  }

  private async run(roundDone: () => void): Promise<void> {
    const { pollMs } = this.options;
    while (!this.closing.signal.aborted) {
      const startedMs = Date.now();
      await this.pollRound();
      roundDone();
      await this.pause(Math.max(0, pollMs - (Date.now() - startedMs)));
    }
  }

  private async pollRound(): Promise<void> {
    const results = await Promise.all(this.options.peers.map(async (peer) => [peer, await this.poll(peer)] as const));
    if (this.closing.signal.aborted) return;
    for (const [peer, result] of results) {
      this.logTransition(peer, this.last.get(peer.id), result);
      this.last.set(peer.id, result);
    }
    this.updatedAtMs = Date.now();
    if (this.roundListeners.length === 0) return;
    const snapshot = this.snapshot();
    for (const listener of this.roundListeners) {
      try {
        listener(snapshot);
      } catch (error) {
        this.options.logger.error({ err: error }, 'a cluster view listener failed');
      }
    }
  }

  private async poll(peer: Peer): Promise<PollResult> {
    const timeoutMs = this.options.requestTimeoutMs;
    try {
      const response = await request(`${peer.url}/status`, {
        dispatcher: this.agent,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        signal: AbortSignal.any([this.closing.signal, AbortSignal.timeout(timeoutMs)]),
      });
      if (response.statusCode !== 200) {
        await response.body.dump();
        return { ok: false, error: `GET /status answered ${response.statusCode}` };
      }
      return parseStatus(peer, await response.body.json());
    } catch (error) {
      return { ok: false, error: describeRequestError(error, timeoutMs) };
    }
  }

  // Logs only changes of reachability, so a node that is down does not flood the log every poll.
  private logTransition(peer: Peer, before: PollResult | undefined, after: PollResult): void {
    const log = this.options.logger;
    if (after.ok && !before?.ok) {
      log.info({ peer: peer.id, role: after.status.role, epoch: after.status.epoch }, 'node reachable');
    } else if (!after.ok && before?.ok) {
      log.warn({ peer: peer.id, error: after.error }, 'node unreachable');
    }
  }

  // A sleep that ends early when the view closes, so close() never waits out a poll period.
  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const signal = this.closing.signal;
      if (signal.aborted) return resolve();
      const timer = setTimeout(done, ms);
      signal.addEventListener('abort', done, { once: true });
      function done(): void {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      }
    });
  }
}

// A status must name the node we asked and carry a role and an epoch; anything else means the URL
// in PEERS points at the wrong process, which the view reports instead of trusting.
function parseStatus(peer: Peer, body: unknown): PollResult {
  if (typeof body !== 'object' || body === null) return { ok: false, error: 'GET /status did not answer a JSON object' };
  const status = body as Record<string, unknown>;
  if (status.id !== peer.id) {
    return { ok: false, error: `GET /status answered id ${JSON.stringify(status.id)}, expected ${JSON.stringify(peer.id)}` };
  }
  if (typeof status.role !== 'string' || typeof status.epoch !== 'number') {
    return { ok: false, error: 'GET /status lacks role or epoch' };
  }
  return { ok: true, status: status as NodeStatus };
}

function describeRequestError(error: unknown, timeoutMs: number): string {
  const err = error as { name?: string; code?: string; message?: string };
  if (err.name === 'TimeoutError' || err.code === 'UND_ERR_HEADERS_TIMEOUT' || err.code === 'UND_ERR_BODY_TIMEOUT') {
    return `no answer within ${timeoutMs} ms`;
  }
  if (err.code === 'ECONNREFUSED') return 'connection refused';
  if (err.code === 'ECONNRESET' || err.code === 'UND_ERR_SOCKET') return 'connection reset';
  if (err.name === 'SyntaxError') return 'GET /status answered invalid JSON';
  return err.code ? `${err.code}: ${err.message ?? 'request failed'}` : (err.message ?? 'request failed');
}
