// The link layer: every byte of peer traffic goes through here — HTTP requests out, HTTP answers
// back, WebSocket messages both ways — so that control's fault rules (latency, loss, partitions)
// act on real sockets, on connections already open as well as new ones. A rule from A to B acts
// where A sends: A's requests to B, A's answers to B, A's WebSocket messages to B.

import { Agent, type Dispatcher, request } from 'undici';
import type { WebSocket } from 'ws';

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

export class Link {
  private readonly agent: Agent;

  constructor(readonly selfId: string) {
    this.agent = new Agent({ keepAliveTimeout: 10_000, connections: 16 });
  }

  // Sends one HTTP request to `peerId` and reads the whole answer. Rejects with PeerRequestError
  // on timeout, refusal or reset; an HTTP error status is an answer, not a rejection.
  async request(peerId: string, url: string, options: PeerRequest): Promise<PeerResponse> {
    const timeout = AbortSignal.timeout(options.timeoutMs);
    const signal = options.signal ? AbortSignal.any([timeout, options.signal]) : timeout;
    try {
      const response = await request(url, {
        method: options.method,
        headers: options.headers,
        body: options.body,
        signal,
        dispatcher: options.dispatcher ?? this.agent,
        headersTimeout: options.timeoutMs,
        bodyTimeout: options.timeoutMs,
      });
      const body = Buffer.from(await response.body.arrayBuffer());
      return { statusCode: response.statusCode, headers: response.headers, body };
    } catch (error) {
      throw toPeerError(peerId, error, timeout.aborted);
    }
  }

  // Sends one WebSocket message to `peerId`. Returns false when the socket is not open.
  send(socket: WebSocket, _peerId: string, data: string | Buffer): boolean {
    if (socket.readyState !== socket.OPEN) return false;
    socket.send(data);
    return true;
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
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
