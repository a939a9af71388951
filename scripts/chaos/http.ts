// JSON over HTTP for the chaos run, on undici like the services. Every call has a deadline (the
// whole call, not just the headers), and network errors are thrown as they are, so the caller can
// tell a refused connection (the request never arrived) from a timeout (it may have).

import { Agent, request } from 'undici';

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: any;
}

export type Method = 'GET' | 'PUT' | 'POST' | 'DELETE';

// Bounds of the run's HTTP client.
export const httpLimits = {
  connectTimeoutMs: 2000,
  keepAliveTimeoutMs: 4000,
  connectionsPerOrigin: 128,
} as const;

export class Http {
  private readonly agent = new Agent({
    connect: { timeout: httpLimits.connectTimeoutMs },
    keepAliveTimeout: httpLimits.keepAliveTimeoutMs,
    connections: httpLimits.connectionsPerOrigin,
  });

  async call(method: Method, url: string, body: unknown, timeoutMs: number): Promise<Answer> {
    const response = await request(url, {
      method,
      dispatcher: this.agent,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await response.body.text();
    let parsed: unknown = text;
    try {
      parsed = text.length > 0 ? JSON.parse(text) : null;
    } catch {
      // Not JSON: keep the text, the caller reports it.
    }
    return { status: response.statusCode, headers: response.headers, body: parsed };
  }

  // The same call, but a network error becomes null (for polls that simply try again).
  async tryCall(method: Method, url: string, body: unknown, timeoutMs: number): Promise<Answer | null> {
    try {
      return await this.call(method, url, body, timeoutMs);
    } catch {
      return null;
    }
  }

  async close(): Promise<void> {
    await this.agent.close().catch(() => undefined);
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms)));
