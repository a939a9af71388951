// The link's sending side of WebSockets: one queue per socket, so a latency rule delays each
// message by its amount and keeps their order; a lost message stalls the socket (as TCP would);
// and a healed link releases what it still holds. Link.send decides, per message, which applies.

import type { FastifyBaseLogger } from 'fastify';
import type WebSocket from 'ws';
import { limits } from './limits.ts';

// What the link keeps per WebSocket it sends on.
export interface SocketState {
  peerId: string;
  queue: Array<{ at: number; data: string | Buffer }>;
  queuedBytes: number;
  lastAt: number;
  flushTimer: NodeJS.Timeout | null;
  stalled: boolean;
  stallTimer: NodeJS.Timeout | null;
}

export class SocketQueues {
  private readonly sockets = new Map<WebSocket, SocketState>();

  constructor(private readonly logger: () => FastifyBaseLogger | null) {}

  // The state of a socket this process sends on (created on its first message).
  state(socket: WebSocket, peerId: string): SocketState {
    let state = this.sockets.get(socket);
    if (!state) {
      const created: SocketState = { peerId, queue: [], queuedBytes: 0, lastAt: 0, flushTimer: null, stalled: false, stallTimer: null };
      this.sockets.set(socket, created);
      socket.once('close', () => this.forget(socket));
      state = created;
    }
    return state;
  }

  private forget(socket: WebSocket): void {
    const state = this.sockets.get(socket);
    if (!state) return;
    if (state.flushTimer) clearTimeout(state.flushTimer);
    if (state.stallTimer) clearTimeout(state.stallTimer);
    this.sockets.delete(socket);
  }

  // Latency on a WebSocket: messages wait in a queue per socket and leave in the order they were
  // sent, each no earlier than its own delay.
  enqueue(socket: WebSocket, state: SocketState, data: string | Buffer, delayMs: number): boolean {
    const at = Math.max(Date.now() + delayMs, state.lastAt);
    state.lastAt = at;
    state.queue.push({ at, data });
    state.queuedBytes += typeof data === 'string' ? Buffer.byteLength(data) : data.length;
    if (state.queuedBytes > limits.linkQueueBytesMax) {
      this.logger()?.warn({ peer: state.peerId, bytes: state.queuedBytes }, 'WebSocket latency queue over its bound; resetting the socket');
      socket.terminate();
      return false;
    }
    if (!state.flushTimer) this.scheduleFlush(socket, state);
    return true;
  }

  private scheduleFlush(socket: WebSocket, state: SocketState): void {
    const next = state.queue[0];
    if (!next) return;
    state.flushTimer = setTimeout(() => {
      state.flushTimer = null;
      const now = Date.now();
      while (state.queue[0] && state.queue[0].at <= now) {
        const item = state.queue.shift() as { at: number; data: string | Buffer };
        state.queuedBytes -= typeof item.data === 'string' ? Buffer.byteLength(item.data) : item.data.length;
        if (socket.readyState === socket.OPEN) socket.send(item.data);
      }
      this.scheduleFlush(socket, state);
    }, Math.max(0, next.at - Date.now()));
  }

  // A lost message stalls its socket: TCP delivers a stream in order, so nothing sent after a
  // lost segment can arrive either. Peers notice the silence (heartbeats) and reconnect; if the
  // socket is still open after limits.linkStallMsMax, the link resets it, as TCP's user timeout
  // would. Replication stays correct: a new socket resumes from what the replica has applied.
  stall(socket: WebSocket, state: SocketState, ruleId: string): void {
    state.stalled = true;
    this.logger()?.info({ peer: state.peerId, rule: ruleId }, `a message to ${state.peerId} was lost; the WebSocket is stalled until it is replaced`);
    state.stallTimer = setTimeout(() => socket.terminate(), limits.linkStallMsMax);
  }

  // A latency rule that is gone delays nothing more: what it still holds on a WebSocket leaves now,
  // in order, as when netem's qdisc is removed, instead of waiting out a delay nobody sets any more
  // (and holding back everything sent after the heal). HTTP departures do the same (departure()).
  releaseUndelayed(delayed: (peerId: string) => boolean): void {
    for (const [socket, state] of this.sockets) {
      if (state.queue.length === 0 || delayed(state.peerId)) continue;
      if (state.flushTimer) clearTimeout(state.flushTimer);
      state.flushTimer = null;
      for (const item of state.queue.splice(0)) if (socket.readyState === socket.OPEN) socket.send(item.data);
      state.queuedBytes = 0;
      state.lastAt = 0;
    }
  }

  forgetAll(): void {
    for (const socket of [...this.sockets.keys()]) this.forget(socket);
  }
}
