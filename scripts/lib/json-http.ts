// The one JSON-over-HTTP client of the tests, the bench and the chaos run (the services have
// their own: shared/link.ts for peer traffic, control's node-requests.ts for levers). On undici
// like the services; every call has a deadline for the whole call, not just the headers. Network
// errors are thrown as they are, so a caller can tell a refused connection (the request never
// arrived) from a timeout (it may have).

import { type Dispatcher, request } from 'undici';

export interface JsonAnswer<T = any> {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  // Parsed JSON when the answer says application/json (and parses), else the raw text.
  body: T;
}

export interface JsonRequestOptions {
  timeoutMs: number;
  headers?: Record<string, string>;
  // Sent as it is instead of the JSON-encoded body: raw text, malformed JSON.
  rawBody?: string;
  dispatcher?: Dispatcher;
}

export async function requestJson<T = any>(method: Dispatcher.HttpMethod, url: string, body: unknown, options: JsonRequestOptions): Promise<JsonAnswer<T>> {
  const payload = options.rawBody ?? (body === undefined ? undefined : JSON.stringify(body));
  const headers: Record<string, string> = { ...options.headers };
  if (payload !== undefined) headers['content-type'] ??= 'application/json';
  const response = await request(url, {
    method,
    headers,
    body: payload,
    dispatcher: options.dispatcher,
    headersTimeout: options.timeoutMs,
    bodyTimeout: options.timeoutMs,
    signal: AbortSignal.timeout(options.timeoutMs),
  });
  const text = await response.body.text();
  return { status: response.statusCode, headers: response.headers, body: parseIfJson(text, response.headers['content-type']) as T };
}

// A GET whose network error is an answer too: status 0 (for polls that simply try again).
export async function tryGetJson<T = any>(url: string, timeoutMs: number): Promise<JsonAnswer<T | null>> {
  try {
    return await requestJson<T>('GET', url, undefined, { timeoutMs });
  } catch {
    return { status: 0, headers: {}, body: null };
  }
}

function parseIfJson(text: string, contentType: string | string[] | undefined): unknown {
  if (text.length === 0 || !String(contentType ?? '').includes('application/json')) return text;
  try {
    return JSON.parse(text);
  } catch {
    // Says JSON, is not: keep the text for the caller to report.
    return text;
  }
}
