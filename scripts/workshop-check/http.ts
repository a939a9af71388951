// JSON over HTTP to the cluster under check (the project's one client, scripts/lib/json-http.ts),
// and waiting for a condition to a deadline. Every
// request has a timeout and every wait a deadline: a check that hangs tells nobody anything.

import type { Dispatcher } from 'undici';
import { type JsonAnswer, requestJson } from '../lib/json-http.ts';

export type Answer = JsonAnswer;

// undici follows no redirect: a 307 is an answer the caller reads (it names the primary).
export function call(method: Dispatcher.HttpMethod, url: string, body: unknown, timeoutMs: number): Promise<Answer> {
  return requestJson(method, url, body, { timeoutMs });
}

// GET that answers the JSON body of a 200, and throws with what it got otherwise.
export async function getOk(url: string, timeoutMs: number): Promise<any> {
  const answer = await call('GET', url, undefined, timeoutMs);
  if (answer.status !== 200) throw new Error(`GET ${url}: HTTP ${answer.status} ${JSON.stringify(answer.body).slice(0, 300)}`);
  return answer.body;
}

// Polls fn until it returns a truthy value; a throw counts as "not yet". Past the deadline it
// throws, naming what it waited for and the last thing it saw.
export async function waitUntil<T>(what: string, timeoutMs: number, fn: () => Promise<T> | T, intervalMs = 250): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await fn();
      if (value) return value as NonNullable<T>;
      last = value;
    } catch (err) {
      last = (err as Error).message;
    }
    if (Date.now() + intervalMs > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  throw new Error(`waited ${timeoutMs} ms for ${what}; last seen: ${typeof last === 'string' ? last : JSON.stringify(last)}`.slice(0, 2000));
}
