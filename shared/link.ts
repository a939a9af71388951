// The link layer: every byte of peer traffic goes through here — HTTP requests out, HTTP answers
// back, WebSocket connects and messages both ways — so that control's fault rules (latency, loss,
// partitions) act on real sockets, on connections already open as well as new ones.
//
// Every process holds the whole rule table (control pushes it; see fault-rules.ts) and applies,
// as the *sender*, the rules whose `from` is itself:
//   - requests it sends:           Link.request   (delay, hang until the request's own timeout, or reset)
//   - answers it sends:            the onSend hook installHooks() adds (delay, hold, or destroy the
//                                  socket), keyed on the requester's id in header x-mirrorlab-node
//   - WebSocket handshakes:        Link.connectWebSocket on the client, the onRequest hook on the server
//   - WebSocket messages it sends: Link.send (a delay queue per socket keeps the order; a lost
//                                  message stalls the socket, see stall())
// Control-plane traffic (header x-mirrorlab-plane: control, or requests with no sender id, such as
// clients and control's status polls) is never touched, in either direction.

import net from 'node:net';
import type { FastifyBaseLogger, FastifyInstance, FastifyRequest } from 'fastify';
import { Agent, type Dispatcher, request } from 'undici';
import WebSocket, { type ClientOptions } from 'ws';
import { connectVerdict, type FaultRule, type LinkVerdict, linkVerdict, rulesBetween, ruleTableHash, rulesTouching } from './fault-rules.ts';
import { limits } from './limits.ts';
import { HEADER_NODE_ID, HEADER_PLANE } from './protocol.ts';
import { closedSignal, raceAbort, sleep, untilAborted } from './abortable.ts';
import { SocketQueues } from './link-sockets.ts';
import { Signal } from './signal.ts';
import { TrafficLog } from './traffic-log.ts';

export interface PeerResponse {
  statusCode: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

export interface PeerRequest {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  headers?: Record<string, string>;
  body?: string | Buffer;
  // Every peer request has a deadline: nothing waits forever.
  timeoutMs: number;
  dispatcher?: Dispatcher;
  signal?: AbortSignal;
  // Control-plane traffic (rule delivery, pause, crash, event collection): exempt from faults.
  controlPlane?: boolean;
}

export class PeerRequestError extends Error {
  constructor(
    readonly peerId: string,
    readonly kind: 'timeout' | 'refused' | 'reset' | 'aborted',
    message: string,
  ) {
    super(message);
  }
}

export interface LinkOptions {
  // Draws for loss and jitter; Math.random unless a test needs another.
  random?: () => number;
}

export class Link {
  private readonly agent: Agent;
  private readonly random: () => number;
  private rules: readonly FaultRule[] = [];
  private hash = ruleTableHash([]);
  private readonly rulesChanged = new Signal();
  // Per peer, when the last delayed request / answer leaves: later ones never overtake it.
  private readonly requestDepartures = new Map<string, number>();
  private readonly answerDepartures = new Map<string, number>();
  private readonly sockets = new SocketQueues(() => this.logger);
  private readonly closing = new AbortController();
  private logger: FastifyBaseLogger | null = null;
  // What this process sent its peers lately, recorded at the send sites below (the dashboard's message view).
  readonly traffic = new TrafficLog(limits.trafficRingMax);

  constructor(
    readonly selfId: string,
    options: LinkOptions = {},
  ) {
    this.agent = new Agent({ keepAliveTimeout: limits.httpKeepAliveMs, connections: limits.peerConnectionsMax });
    this.random = options.random ?? Math.random;
  }

  // ---- The rule table ----

  // Replaces the whole table (control sends it whole; order does not matter).
  setRules(rules: readonly FaultRule[]): void {
    this.rules = [...rules];
    const before = this.hash;
    this.hash = ruleTableHash(this.rules);
    if (before !== this.hash) this.logger?.info({ rules: this.rules.length, hash: this.hash }, `fault rules now ${this.rules.length}`);
    this.sockets.releaseUndelayed((peerId) => this.delayed(peerId));
    this.rulesChanged.notify();
  }

  // True while a latency rule acts on traffic from this process to `peerId`.
  private delayed(peerId: string): boolean {
    return rulesBetween(this.rules, this.selfId, peerId).some((rule) => rule.kind === 'latency');
  }

  get faultRules(): readonly FaultRule[] {
    return this.rules;
  }

  // The fingerprint of the table this process holds (ruleTableHash); control compares it to its own.
  get faultsHash(): string {
    return this.hash;
  }

  // The rules that act on this process's traffic.
  rulesTouchingSelf(): FaultRule[] {
    return rulesTouching(this.rules, this.selfId);
  }

  private verdict(to: string): LinkVerdict {
    return linkVerdict(this.rules, this.selfId, to, this.random);
  }

  private dropped(to: string): boolean {
    return connectVerdict(this.rules, this.selfId, to, () => 0).action === 'drop';
  }

  // ---- HTTP out ----

  // Sends one HTTP request to `peerId` and reads the whole answer. Rejects with PeerRequestError
  // on timeout, refusal or reset; an HTTP error status is an answer, not a rejection.
  async request(peerId: string, url: string, options: PeerRequest): Promise<PeerResponse> {
    const timeout = AbortSignal.timeout(options.timeoutMs);
    const signal = AbortSignal.any([timeout, this.closing.signal, ...(options.signal ? [options.signal] : [])]);
    const headers: Record<string, string> = { [HEADER_NODE_ID]: this.selfId, ...options.headers };
    if (options.controlPlane) headers[HEADER_PLANE] = 'control';
    try {
      const handedAt = Date.now();
      if (!options.controlPlane) await this.beforeRequest(peerId, signal, options.timeoutMs);
      this.traffic.request(this.selfId, peerId, url, options, handedAt);
      const response = await request(url, {
        method: options.method,
        headers,
        body: options.body,
        signal,
        dispatcher: options.dispatcher ?? this.agent,
        headersTimeout: options.timeoutMs,
        bodyTimeout: options.timeoutMs,
      });
      const body = Buffer.from(await response.body.arrayBuffer());
      return { statusCode: response.statusCode, headers: response.headers, body };
    } catch (error) {
      if (error instanceof PeerRequestError) throw error;
      throw toPeerError(peerId, error, timeout.aborted);
    }
  }

  // Applies the rules to one request before it leaves: resolves when it may go, throws when it
  // must not (a reset at once; a timeout or abort when it hung until the signal fired).
  private async beforeRequest(peerId: string, signal: AbortSignal, timeoutMs: number): Promise<void> {
    for (;;) {
      const verdict = this.verdict(peerId);
      switch (verdict.action) {
        case 'deliver':
          if (verdict.delayMs > 0) await this.departure(this.requestDepartures, peerId, verdict.delayMs, signal);
          return;
        case 'reject':
          throw new PeerRequestError(peerId, 'reset', `connection to ${peerId} reset (fault rule ${verdict.ruleId})`);
        case 'lose':
          await untilAborted(signal);
          throw signal.reason;
        case 'drop':
          if (!(await this.heldWhile(() => this.dropped(peerId), signal, timeoutMs))) {
            await untilAborted(signal);
            throw signal.reason;
          }
          // Healed before the sender gave up: decide again under the rules as they are now.
          continue;
      }
    }
  }

  // Waits until `departsAt` for this peer, after every delayed message before it (FIFO per peer).
  // Healed meanwhile (no latency rule left on the link), it goes at once.
  private async departure(departures: Map<string, number>, peerId: string, delayMs: number, signal: AbortSignal): Promise<void> {
    const at = Math.max(Date.now() + delayMs, departures.get(peerId) ?? 0);
    departures.set(peerId, at);
    while (Date.now() < at) {
      if (!this.delayed(peerId)) {
        departures.delete(peerId);
        return;
      }
      await raceAbort(this.rulesChanged.wait(at - Date.now()), signal);
      if (signal.aborted) throw signal.reason;
    }
  }

  // Holds while `blocked()` stays true. Resolves true when it no longer is (a partition healed),
  // false when the signal fired or `maxMs` passed first.
  private async heldWhile(blocked: () => boolean, signal: AbortSignal, maxMs: number): Promise<boolean> {
    const deadline = Date.now() + maxMs;
    while (blocked()) {
      const leftMs = deadline - Date.now();
      if (signal.aborted || leftMs <= 0) return false;
      await raceAbort(this.rulesChanged.wait(Math.min(leftMs, limits.linkHoldMsMax)), signal);
    }
    return !signal.aborted;
  }

  // ---- HTTP and WebSocket answers (in) ----

  // Adds the hooks that apply this process's rules to what its server sends back: answers to peer
  // requests (onSend) and WebSocket handshakes (onRequest, before the upgrade). Install it before
  // the routes. The link logs through the app's logger from here on.
  installHooks(app: FastifyInstance): void {
    this.logger ??= app.log.child({ component: 'link' });
    app.addHook('onRequest', async (request, reply) => {
      const requester = requesterOf(request, this.selfId);
      if (requester && isUpgrade(request) && !(await this.beforeAnswer(request, requester, true))) reply.hijack();
    });
    app.addHook('onSend', async (request, _reply, payload) => {
      const requester = requesterOf(request, this.selfId);
      // A destroyed connection takes the answer nowhere; Fastify's write to it is a no-op.
      const handedAt = Date.now();
      if (requester && !isUpgrade(request) && (await this.beforeAnswer(request, requester, false))) this.traffic.answer(this.selfId, requester, request.url, payload, handedAt);
      return payload;
    });
    // Answers held by a rule must not keep the server from closing.
    app.addHook('preClose', async () => {
      this.closing.abort();
    });
  }

  // Applies the rules from this process to `requester` to one answer: delay it, destroy the
  // connection at once (reject), or hold it until the requester gives up (loss, drop), bounded by
  // limits.linkHoldMsMax, then destroy the connection. A drop whose partition heals lets it go.
  // Resolves true when the answer may go, false when the connection was destroyed instead.
  private async beforeAnswer(request: FastifyRequest, requester: string, handshake: boolean): Promise<boolean> {
    const socket = request.raw.socket;
    const closed = closedSignal(socket);
    const gone = AbortSignal.any([closed.signal, this.closing.signal]);
    try {
      for (;;) {
        const verdict = handshake ? connectVerdict(this.rules, this.selfId, requester, this.random) : this.verdict(requester);
        switch (verdict.action) {
          case 'deliver':
            if (verdict.delayMs > 0) await this.departure(this.answerDepartures, requester, verdict.delayMs, gone);
            return true;
          case 'reject':
            socket.destroy();
            return false;
          case 'lose':
            await sleep(limits.linkHoldMsMax, gone).catch(() => undefined);
            socket.destroy();
            return false;
          case 'drop':
            if (await this.heldWhile(() => this.dropped(requester), gone, limits.linkHoldMsMax)) continue;
            socket.destroy();
            return false;
        }
      }
    } catch {
      // The requester went away while the answer waited: nothing left to send it to.
      socket.destroy();
      return false;
    } finally {
      closed.dispose();
    }
  }

  // ---- WebSocket out ----

  // Opens a WebSocket to `peerId` as `new WebSocket(url, options)` would, with this process's
  // rules applied to the connect: a partition resets it at once (reject) or lets it hang until
  // options.handshakeTimeout (drop, unless it heals first); latency delays it.
  connectWebSocket(peerId: string, url: string, options: ClientOptions = {}): WebSocket {
    const handshakeTimeoutMs = options.handshakeTimeout ?? limits.webSocketHandshakeTimeoutMsDefault;
    const createConnection = (connectOptions: net.NetConnectOpts & { socketPath?: string }, oncreate: (error: Error | null, socket?: net.Socket) => void) =>
      this.openSocket(peerId, connectOptions, oncreate, handshakeTimeoutMs);
    return new WebSocket(url, { ...options, createConnection: createConnection as unknown as typeof net.createConnection });
  }

  // Node's http client takes a socket returned at once or one handed to `oncreate` later.
  private openSocket(
    peerId: string,
    options: net.NetConnectOpts & { socketPath?: string },
    oncreate: (error: Error | null, socket?: net.Socket) => void,
    handshakeTimeoutMs: number,
  ): net.Socket | undefined {
    // As ws itself connects (its netConnect): a unix socket path when one is given.
    const connect = () => net.connect({ ...options, path: options.socketPath } as net.NetConnectOpts);
    const verdict = connectVerdict(this.rules, this.selfId, peerId, this.random);
    switch (verdict.action) {
      case 'deliver':
        if (verdict.delayMs === 0) return connect();
        setTimeout(() => oncreate(null, connect()), verdict.delayMs);
        return undefined;
      case 'reject':
        process.nextTick(() => oncreate(socketError('ECONNRESET', `connection to ${peerId} reset (fault rule ${verdict.ruleId})`)));
        return undefined;
      case 'lose':
      case 'drop': {
        const give = AbortSignal.any([AbortSignal.timeout(handshakeTimeoutMs), this.closing.signal]);
        void this.heldWhile(() => this.dropped(peerId), give, handshakeTimeoutMs).then((healed) => {
          if (healed) {
            const socket = this.openSocket(peerId, options, oncreate, handshakeTimeoutMs);
            if (socket) oncreate(null, socket);
          } else {
            oncreate(socketError('ETIMEDOUT', `connecting to ${peerId} timed out (fault rule ${verdict.ruleId})`));
          }
        });
        return undefined;
      }
    }
  }

  // Sends one WebSocket message to `peerId`. Returns false when the socket is not open (or a
  // reject rule just reset it); a message lost to a rule counts as sent: the sender cannot know.
  send(socket: WebSocket, peerId: string, data: string | Buffer): boolean {
    if (socket.readyState !== socket.OPEN) return false;
    const state = this.sockets.state(socket, peerId);
    if (state.stalled) return true;
    const verdict = this.verdict(peerId);
    this.traffic.message(this.selfId, peerId, data, verdict);
    switch (verdict.action) {
      case 'reject':
        this.logger?.debug({ peer: peerId, rule: verdict.ruleId }, 'WebSocket reset by a fault rule');
        socket.terminate();
        return false;
      case 'drop':
      case 'lose':
        this.sockets.stall(socket, state, verdict.ruleId);
        return true;
      case 'deliver':
        if (verdict.delayMs === 0 && state.queue.length === 0) {
          socket.send(data);
          return true;
        }
        return this.sockets.enqueue(socket, state, data, verdict.delayMs);
    }
  }

  async close(): Promise<void> {
    this.closing.abort();
    this.sockets.forgetAll();
    await this.agent.close();
  }
}

function requesterOf(request: FastifyRequest, selfId: string): string | null {
  if (request.headers[HEADER_PLANE] === 'control') return null;
  const sender = request.headers[HEADER_NODE_ID];
  return typeof sender === 'string' && sender.length > 0 && sender !== selfId ? sender : null;
}

function isUpgrade(request: FastifyRequest): boolean {
  return String(request.headers.upgrade ?? '').toLowerCase() === 'websocket';
}

function socketError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

function toPeerError(peerId: string, error: unknown, timedOut: boolean): PeerRequestError {
  const code = (error as { code?: string }).code ?? '';
  const text = error instanceof Error ? error.message : String(error);
  if (timedOut || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
    return new PeerRequestError(peerId, 'timeout', `${peerId} did not answer in time`);
  }
  if (code === 'ECONNREFUSED') return new PeerRequestError(peerId, 'refused', `${peerId} refused the connection`);
  if ((error as Error).name === 'AbortError') return new PeerRequestError(peerId, 'aborted', `request to ${peerId} aborted`);
  return new PeerRequestError(peerId, 'reset', `request to ${peerId} failed: ${text}`);
}
