// JSON over HTTP for tests: thin names over the project's one client (scripts/lib/json-http.ts).
// Every call is bounded by a timeout, so a hung server fails the test with a reason instead of
// stalling it until the test timeout.

import type { Dispatcher } from 'undici';
import { type JsonAnswer, requestJson as request } from '../../scripts/lib/json-http.ts';

export type JsonResponse<T = any> = JsonAnswer<T>;

export interface RequestOptions {
  headers?: Record<string, string>;
  timeoutMs?: number;
  // Sent as it is instead of the JSON-encoded body: for raw text and for malformed JSON.
  rawBody?: string;
}

const TIMEOUT_MS_DEFAULT = 10_000;

export function requestJson<T = any>(method: Dispatcher.HttpMethod, url: string, body?: unknown, options: RequestOptions = {}): Promise<JsonResponse<T>> {
  return request<T>(method, url, body, { ...options, timeoutMs: options.timeoutMs ?? TIMEOUT_MS_DEFAULT });
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
