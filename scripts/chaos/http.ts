// JSON over HTTP for the chaos run: the project's one client (scripts/lib/json-http.ts) on a pool of
// the run's own, so many concurrent clients share bounded connections.

import { Agent } from 'undici';
import { requestJson } from '../lib/json-http.ts';

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
    return requestJson(method, url, body, { timeoutMs, dispatcher: this.agent });
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
