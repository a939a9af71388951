// JSON over HTTP for tests, on undici like the services. Every call is bounded by a timeout, so a
// hung server fails the test with a reason instead of stalling it until the test timeout.

import { request, type Dispatcher } from 'undici';

export interface JsonResponse<T = any> {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  // Parsed JSON when the server says application/json, else the raw text.
  body: T;
}

export interface RequestOptions {
  headers?: Record<string, string>;
  timeoutMs?: number;
  // Sent as it is instead of the JSON-encoded body: for raw text and for malformed JSON.
  rawBody?: string;
}

const TIMEOUT_MS_DEFAULT = 10_000;

export async function requestJson<T = any>(
  method: Dispatcher.HttpMethod,
  url: string,
  body?: unknown,
  options: RequestOptions = {},
): Promise<JsonResponse<T>> {
  const timeoutMs = options.timeoutMs ?? TIMEOUT_MS_DEFAULT;
  const payload = options.rawBody ?? (body === undefined ? undefined : JSON.stringify(body));
  const headers: Record<string, string> = { ...options.headers };
  if (payload !== undefined) headers['content-type'] ??= 'application/json';
  const response = await request(url, {
    method,
    headers,
    body: payload,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
  });
  const text = await response.body.text();
  const isJson = String(response.headers['content-type'] ?? '').includes('application/json');
  return { status: response.statusCode, headers: response.headers, body: (isJson && text.length > 0 ? JSON.parse(text) : text) as T };
}

export function getJson<T = any>(url: string, options?: RequestOptions): Promise<JsonResponse<T>> {
  return requestJson<T>('GET', url, undefined, options);
}

// The body is JSON-encoded (a string becomes a JSON string); options.rawBody sends bytes as they are.
export function putJson<T = any>(url: string, body: unknown, options?: RequestOptions): Promise<JsonResponse<T>> {
  return requestJson<T>('PUT', url, body, options);
}

export function postJson<T = any>(url: string, body: unknown, options?: RequestOptions): Promise<JsonResponse<T>> {
  return requestJson<T>('POST', url, body, options);
}

export function deleteJson<T = any>(url: string, options?: RequestOptions): Promise<JsonResponse<T>> {
  return requestJson<T>('DELETE', url, undefined, options);
}
