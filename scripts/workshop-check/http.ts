// JSON over HTTP to the cluster under check, and waiting for a condition to a deadline. Every
// request has a timeout and every wait a deadline: a check that hangs tells nobody anything.

import { request, type Dispatcher } from 'undici';

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  // Parsed JSON when the body is JSON, else the text.
  body: any;
}

export async function call(method: Dispatcher.HttpMethod, url: string, body: unknown, timeoutMs: number): Promise<Answer> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const response = await request(url, {
    method,
    headers: payload === undefined ? {} : { 'content-type': 'application/json' },
    body: payload,
    headersTimeout: timeoutMs,
    // undici follows no redirect: a 307 is an answer the caller reads (it names the primary).
    bodyTimeout: timeoutMs,
  });
  const text = await response.body.text();
  let parsed: unknown = text;
  try {
    parsed = text.length > 0 ? JSON.parse(text) : text;
  } catch {
    // Not JSON: the caller gets the text.
  }
  return { status: response.statusCode, headers: response.headers, body: parsed };
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
