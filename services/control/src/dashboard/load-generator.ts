// The load generator behind POST /load: writes at a steady rate to whichever node is the primary
// now (control's cluster view), so a workshop can watch lag, latency and failover under traffic
// without a second terminal. It lives in control, not in the page, so it outlasts a closed tab,
// and every bound is in limits.ts: the rate, how long it runs, the keys it cycles through (the
// state stays bounded), the writes waiting for an answer, each write's deadline.
//
// Writes are client traffic (no sender id): fault rules never touch them, as they never touch a
// curl. Each is PUT <primary>/kv/load/<n mod keys>?ack=<ack> with {"n","at"}. A tick with no known
// primary, or with loadInflightMax writes still waiting, skips its writes and counts them: the
// generator never queues up a backlog that would burst out when the primary answers again.

import type { Logger } from 'pino';
import { Agent, request } from 'undici';
import { limits } from '../../../../shared/limits.ts';

export interface LoadSettings {
  // Writes per second.
  rate: number;
  // Ack level of every write: local, sync, all or a count of copies.
  ack: string;
  seconds: number;
  keys: number;
}

export interface LoadReport extends Partial<LoadSettings> {
  running: boolean;
  startedAt: string | null;
  endsAt: string | null;
  // The node written to last.
  target: string | null;
  sent: number;
  acked: number;
  failed: number;
  skipped: number;
  inflight: number;
  // Failed writes by error code (at most LOAD_ERROR_CODES_MAX codes), and the last one's message.
  errors: Record<string, number>;
  lastError: string | null;
}

export interface LoadGeneratorOptions {
  // The primary's id and URL as control reaches it, or null when there is none right now.
  primary: () => { id: string; url: string } | null;
  emit: (type: string, fields: Record<string, unknown>) => void;
  broadcast: (type: string, fields: Record<string, unknown>) => void;
  logger: Logger;
}

const LOAD_ERROR_CODES_MAX = 20;
// How often a running generator tells subscribers its counts (a `load` event).
const REPORT_EVERY_MS = 1000;

interface Run {
  settings: LoadSettings;
  startedMs: number;
  endsMs: number;
  planned: number;
  timer: NodeJS.Timeout;
  lastReportMs: number;
}

export class LoadGenerator {
  private readonly agent = new Agent({ connections: limits.loadInflightMax, keepAliveTimeout: limits.httpKeepAliveMs });
  private run: Run | null = null;
  private counts = emptyCounts();
  private last: LoadSettings | null = null;
  private startedAt: string | null = null;
  private endsAt: string | null = null;
  private target: string | null = null;

  constructor(private readonly options: LoadGeneratorOptions) {}

  // Starts a run with these settings, replacing one that runs.
  start(settings: LoadSettings): LoadReport {
    if (this.run) this.stop('replaced by a new run');
    const now = Date.now();
    this.counts = emptyCounts();
    this.last = settings;
    this.startedAt = new Date(now).toISOString();
    this.endsAt = new Date(now + settings.seconds * 1000).toISOString();
    const timer = setInterval(() => this.tick(), limits.loadTickMs);
    this.run = { settings, startedMs: now, endsMs: now + settings.seconds * 1000, planned: 0, timer, lastReportMs: now };
    this.options.logger.info(settings, 'load generator started');
    this.options.emit('load-started', { ...settings });
    return this.report();
  }

  // Stops the run, if any; writes in flight still finish and are counted.
  stop(reason: string): LoadReport {
    const run = this.run;
    if (run) {
      clearInterval(run.timer);
      this.run = null;
      const report = this.report();
      this.options.logger.info({ reason, sent: report.sent, acked: report.acked, failed: report.failed, skipped: report.skipped }, 'load generator stopped');
      this.options.emit('load-stopped', { reason, rate: run.settings.rate, ack: run.settings.ack, sent: report.sent, acked: report.acked, failed: report.failed, skipped: report.skipped });
    }
    return this.report();
  }

  report(): LoadReport {
    return { running: this.run !== null, ...(this.last ?? {}), startedAt: this.startedAt, endsAt: this.endsAt, target: this.target, ...this.counts, errors: { ...this.counts.errors } };
  }

  async close(): Promise<void> {
    this.stop('control is closing');
    await this.agent.close();
  }

  private tick(): void {
    const run = this.run;
    if (!run) return;
    const now = Date.now();
    if (now >= run.endsMs) {
      this.stop(`ran its ${run.settings.seconds} s`);
      return;
    }
    // Writes due since the start, minus those already sent or skipped: a late tick catches up,
    // but never by more than one tick's worth plus one (no burst after a stall).
    const due = Math.floor(((now - run.startedMs) / 1000) * run.settings.rate) - run.planned;
    const sendNow = Math.min(due, Math.ceil((run.settings.rate * limits.loadTickMs) / 1000) + 1);
    if (due > sendNow) {
      run.planned += due - sendNow;
      this.counts.skipped += due - sendNow;
    }
    for (let i = 0; i < sendNow; i++) this.write(run);
    if (now - run.lastReportMs >= REPORT_EVERY_MS) {
      run.lastReportMs = now;
      this.options.broadcast('load', { ...this.report() });
    }
  }

  private write(run: Run): void {
    const n = run.planned++;
    const primary = this.options.primary();
    if (!primary) {
      this.skip('no primary right now');
      return;
    }
    if (this.counts.inflight >= limits.loadInflightMax) {
      this.skip(`${limits.loadInflightMax} writes are still waiting for an answer`);
      return;
    }
    this.target = primary.id;
    this.counts.sent++;
    this.counts.inflight++;
    const url = `${primary.url}/kv/load/${n % run.settings.keys}?ack=${encodeURIComponent(run.settings.ack)}`;
    request(url, {
      method: 'PUT',
      dispatcher: this.agent,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ n, at: Date.now() }),
      headersTimeout: limits.loadRequestTimeoutMs,
      bodyTimeout: limits.loadRequestTimeoutMs,
      signal: AbortSignal.timeout(limits.loadRequestTimeoutMs),
    })
      .then(async (response) => {
        const text = await response.body.text();
        if (response.statusCode === 200) this.counts.acked++;
        else this.fail(errorCode(text, response.statusCode), `${response.statusCode} ${text.slice(0, 200)}`);
      })
      .catch((error: unknown) => this.fail('unreachable', error instanceof Error ? error.message : String(error)))
      .finally(() => this.counts.inflight--);
  }

  private skip(reason: string): void {
    this.counts.skipped++;
    this.counts.lastError = reason;
  }

  private fail(code: string, message: string): void {
    this.counts.failed++;
    this.counts.lastError = message;
    const errors = this.counts.errors;
    if (code in errors || Object.keys(errors).length < LOAD_ERROR_CODES_MAX) errors[code] = (errors[code] ?? 0) + 1;
  }
}

function emptyCounts() {
  return { sent: 0, acked: 0, failed: 0, skipped: 0, inflight: 0, errors: {} as Record<string, number>, lastError: null as string | null };
}

function errorCode(text: string, status: number): string {
  try {
    const code = (JSON.parse(text) as { error?: unknown }).error;
    if (typeof code === 'string' && /^[a-z_]{1,40}$/.test(code)) return code;
  } catch {
    // not JSON: named by the status below
  }
  return `http_${status}`;
}

// Validates a POST /load body: every problem at once, as the fault routes do.
export function parseLoadSettings(body: unknown): { ok: true; value: LoadSettings } | { ok: false; problems: string[] } {
  const problems: string[] = [];
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return { ok: false, problems: ['send a JSON object such as {"rate":50}'] };
  const b = body as Record<string, unknown>;
  for (const name of Object.keys(b)) if (!['rate', 'ack', 'seconds', 'keys'].includes(name)) problems.push(`unknown field "${name}" (this route takes rate, ack, seconds, keys)`);
  const int = (name: string, fallback: number | undefined, max: number): number => {
    const value = b[name] ?? fallback;
    if (value === undefined) {
      problems.push(`${name} is required (an integer from 1 to ${max})`);
      return 0;
    }
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max) problems.push(`${name} must be an integer from 1 to ${max}`);
    return value as number;
  };
  const rate = int('rate', undefined, limits.loadRateMax);
  const seconds = int('seconds', limits.loadSecondsDefault, limits.loadSecondsMax);
  const keys = int('keys', limits.loadKeysDefault, limits.loadKeysMax);
  const ack = b.ack ?? 'sync';
  if (typeof ack !== 'string' || !/^(local|sync|all|[1-9])$/.test(ack)) problems.push('ack must be local, sync, all or a number of copies from 1 to 9');
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, value: { rate, ack: ack as string, seconds, keys } };
}
