// JSON over HTTP for the bench's own control calls (status, faults, cluster view), on the project's
// one client (scripts/lib/json-http.ts). The load itself is driven from load/ in a child.

import { type JsonAnswer, requestJson } from '../lib/json-http.ts';

export type { JsonAnswer };

export async function callJson<T = any>(method: 'GET' | 'POST' | 'DELETE' | 'PUT', url: string, body?: unknown, timeoutMs = 5000): Promise<JsonAnswer<T>> {
  return requestJson<T>(method, url, body, { timeoutMs });
}

export const getJson = <T = any>(url: string, timeoutMs?: number) => callJson<T>('GET', url, undefined, timeoutMs);

// Polls fn until it returns a non-null value; null once timeoutMs has passed. A throw counts as
// "not yet" (a process still booting refuses connections). Callers decide whether null is fatal.
export async function pollUntil<T>(fn: () => Promise<T | null>, timeoutMs: number, intervalMs = 50): Promise<T | null> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    try {
      const value = await fn();
      if (value !== null) return value;
    } catch {
      // not yet
    }
    if (performance.now() + intervalMs > deadline) return null;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
