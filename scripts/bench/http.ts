// JSON over HTTP for the bench's own control calls (status, faults, cluster view): undici like the
// services, every call bounded by a timeout. The load itself is driven from load/ in a child.

import { request } from 'undici';

export interface JsonAnswer<T> {
  status: number;
  body: T;
}

export async function callJson<T = any>(
  method: 'GET' | 'POST' | 'DELETE' | 'PUT',
  url: string,
  body?: unknown,
  timeoutMs = 5000,
): Promise<JsonAnswer<T>> {
  const response = await request(url, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
  });
  const text = await response.body.text();
  let parsed: unknown = text;
  try {
    parsed = text.length > 0 ? JSON.parse(text) : null;
  } catch {
    // Not JSON (a 404 from a route that does not exist may be anything): keep the text.
  }
  return { status: response.statusCode, body: parsed as T };
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
