// Reading the environment, for every service's config.ts (the only readers of process.env). A
// variable that more than one service reads means the same thing everywhere: the same default, the
// same bounds, the same cross-checks, the same message. Before this module, control accepted a
// FAILOVER_TIMEOUT_MS and a CLUSTER_SECRET that the nodes then refused.
//
// A reader collects every problem instead of stopping at the first, so a wrong compose file or
// shell is fixed in one go.

import { CRASH_POINTS, type CrashPointArming, isCrashPointName } from './crash-points.ts';
import { DEFAULT_CLUSTER_SECRET } from './topology.ts';

export type Env = Record<string, string | undefined>;

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

// Ids become URL segments, log prefixes, compose host names and fault-rule names.
export const ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;

export interface PeerEntry {
  id: string;
  url: string;
}

// What every process of one cluster must agree on.
export interface ClusterSettings {
  clusterSecret: string;
  heartbeatMs: number;
  failoverTimeoutMs: number;
  logLevel: string;
}

const CLUSTER_SECRET_CHARS_MIN = 8;

export class EnvReader {
  readonly problems: string[] = [];

  constructor(private readonly env: Env) {}

  // The raw value; undefined when unset or empty.
  raw(name: string): string | undefined {
    const value = this.env[name];
    return value === undefined || value === '' ? undefined : value;
  }

  string(name: string, fallback: string): string {
    return this.raw(name) ?? fallback;
  }

  // A whole number in [min, max]; the fallback (and a problem) otherwise.
  integer(name: string, fallback: number, min: number, max: number): number {
    const text = this.raw(name);
    if (text === undefined) return fallback;
    const value = /^\s*\d+\s*$/.test(text) ? Number(text) : Number.NaN;
    if (!Number.isSafeInteger(value) || value < min || value > max) {
      this.problems.push(`${name}=${JSON.stringify(text)} must be a whole number from ${min} to ${max}`);
      return fallback;
    }
    return value;
  }

  oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
    const value = this.raw(name) ?? fallback;
    if ((allowed as readonly string[]).includes(value)) return value as T;
    this.problems.push(`${name}=${JSON.stringify(value)} must be one of ${allowed.join(', ')}`);
    return fallback;
  }

  // A service id: lowercase letters, digits and dashes (e.g. replica-1).
  id(name: string, fallback?: string): string {
    const value = this.raw(name) ?? fallback ?? '';
    if (!ID_PATTERN.test(value)) this.problems.push(`${name}=${JSON.stringify(value)} must be set to lowercase letters, digits and dashes (e.g. replica-1)`);
    return value;
  }

  // `id=url,id=url`: http(s) URLs (trailing slashes dropped), each id once, at least one.
  peers(name: string, fallback: string): PeerEntry[] {
    const peers: PeerEntry[] = [];
    for (const item of (this.raw(name) ?? fallback).split(',').map((s) => s.trim()).filter(Boolean)) {
      const eq = item.indexOf('=');
      const id = eq > 0 ? item.slice(0, eq).trim() : '';
      const url = eq > 0 ? item.slice(eq + 1).trim().replace(/\/+$/, '') : '';
      if (!ID_PATTERN.test(id)) this.problems.push(`${name} entry ${JSON.stringify(item)} needs the form id=http://host:port with a lowercase id`);
      else if (!isHttpUrl(url)) this.problems.push(`${name} entry ${JSON.stringify(item)} has no valid http:// or https:// URL`);
      else if (peers.some((p) => p.id === id)) this.problems.push(`${name} lists ${JSON.stringify(id)} twice`);
      else peers.push({ id, url });
    }
    if (peers.length === 0 && !this.problems.some((p) => p.startsWith(name))) this.problems.push(`${name} is empty: list the data nodes as id=http://host:port,...`);
    return peers;
  }

  // Test only (tests/cluster/crash-points.test.ts): the crash point this process dies at, from
  // MIRRORLAB_CRASH_POINT, _SKIP (passes to let go by) and _FROM (boot or running).
  crashPoint(): CrashPointArming | null {
    const name = this.raw('MIRRORLAB_CRASH_POINT');
    if (name === undefined) return null;
    if (!isCrashPointName(name)) {
      this.problems.push(`MIRRORLAB_CRASH_POINT="${name}" is not a crash point (${CRASH_POINTS.join(', ')})`);
      return null;
    }
    const from = this.oneOf('MIRRORLAB_CRASH_FROM', ['running', 'boot'] as const, 'running');
    return { name, skip: this.integer('MIRRORLAB_CRASH_SKIP', 0, 0, 1_000_000), from };
  }

  // The settings every process of a cluster shares, checked the same way everywhere.
  cluster(): ClusterSettings {
    const clusterSecret = this.env.CLUSTER_SECRET ?? DEFAULT_CLUSTER_SECRET;
    if (clusterSecret.length < CLUSTER_SECRET_CHARS_MIN) {
      this.problems.push(`CLUSTER_SECRET must be at least ${CLUSTER_SECRET_CHARS_MIN} characters (unset it for the development default)`);
    }
    const heartbeatMs = this.integer('HEARTBEAT_MS', 200, 10, 10_000);
    const failoverTimeoutMs = this.integer('FAILOVER_TIMEOUT_MS', 1500, 100, 120_000);
    // The primary's lease is the failover timeout less two heartbeats (or a fifth): it must stay positive.
    if (failoverTimeoutMs <= 2 * heartbeatMs) {
      this.problems.push(`FAILOVER_TIMEOUT_MS (${failoverTimeoutMs}) must be more than twice HEARTBEAT_MS (${heartbeatMs})`);
    }
    const logLevel = this.oneOf('LOG_LEVEL', LOG_LEVELS, 'info');
    return { clusterSecret, heartbeatMs, failoverTimeoutMs, logLevel };
  }
}

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname.length > 0;
  } catch {
    return false;
  }
}
