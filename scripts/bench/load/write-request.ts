// One PUT as every load mode sends it, and how a failure is named in the counts.

import type { Dispatcher } from 'undici';

export interface WriteAnswer {
  status: number;
  lsn: number;
  epoch: number;
  location: string | null;
  // The primary's own account of a successful write (SPEC §3 `timings`), when asked for.
  timings: { totalMs: number; localMs: number; syncMs: number } | null;
}

// A JSON string of exactly `bytes` bytes, quotes included: the value every write carries.
export function valueBody(bytes: number): string {
  return JSON.stringify('x'.repeat(Math.max(0, bytes - 2)));
}

export async function putValue(
  dispatcher: Dispatcher,
  origin: string,
  path: string,
  body: string,
  timeoutMs: number,
  readTimings = false,
): Promise<WriteAnswer> {
  const response = await dispatcher.request({
    origin,
    path,
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
  });
  // The answer's body is small; reading it whole keeps the connection reusable.
  let timings: WriteAnswer['timings'] = null;
  if (readTimings && response.statusCode === 200) {
    const answer = (await response.body.json()) as { timings?: WriteAnswer['timings'] };
    timings = answer.timings ?? null;
  } else {
    await response.body.dump();
  }
  const header = (name: string) => {
    const value = response.headers[name];
    return Array.isArray(value) ? value[0] : value;
  };
  return {
    status: response.statusCode,
    lsn: Number(header('x-lsn') ?? Number.NaN),
    epoch: Number(header('x-epoch') ?? Number.NaN),
    location: header('location') ?? null,
    timings,
  };
}

export function errorKey(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') return code;
  return error instanceof Error ? error.name : 'unknown';
}

export function countError(errors: Record<string, number>, key: string): void {
  errors[key] = (errors[key] ?? 0) + 1;
}

// This process's CPU since `before`, over `elapsedMs` of wall time, in % of one core.
export function cpuPercentSince(before: NodeJS.CpuUsage, elapsedMs: number): number {
  const used = process.cpuUsage(before);
  return Math.round(((used.user + used.system) / 1000 / elapsedMs) * 100);
}
