// Validation of fault requests (POST /faults/latency|loss|partition, POST /nodes/:id/pause): pure
// functions from a request body and the valid names to a rule draft, or every problem at once so
// the caller fixes the request in one go. Names are the data node ids and `control`.

import type { LatencyRule, LossRule, PartitionMode, PartitionRule } from '../../../../shared/fault-rules.ts';
import { limits } from '../../../../shared/limits.ts';

type Draft<T> = Omit<T, 'id' | 'createdAt' | 'description'>;
export type LatencyDraft = Draft<LatencyRule>;
export type LossDraft = Draft<LossRule>;
export type PartitionDraft = Draft<PartitionRule>;
export type RuleDraft = LatencyDraft | LossDraft | PartitionDraft;

export type Parsed<T> = { ok: true; value: T } | { ok: false; problems: string[] };

export const PARTITION_MODES: readonly PartitionMode[] = ['drop', 'reject'];

function objectBody(body: unknown, allowed: readonly string[], problems: string[]): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    problems.push(`send a JSON object with ${allowed.join(', ')}`);
    return {};
  }
  const record = body as Record<string, unknown>;
  for (const key of Object.keys(record)) if (!allowed.includes(key)) problems.push(`unknown field "${key}" (fields: ${allowed.join(', ')})`);
  return record;
}

function name(record: Record<string, unknown>, field: string, names: readonly string[], problems: string[]): string {
  const value = record[field];
  if (typeof value !== 'string' || !names.includes(value)) {
    problems.push(`${field} ${value === undefined ? 'is missing' : `${JSON.stringify(value)} is not a name`} (names: ${names.join(', ')})`);
    return '';
  }
  return value;
}

function integer(record: Record<string, unknown>, field: string, fallback: number | undefined, min: number, max: number, problems: string[]): number {
  const value = record[field];
  if (value === undefined && fallback !== undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    problems.push(`${field} must be an integer from ${min} to ${max}${value === undefined ? '' : ` (got ${JSON.stringify(value)})`}`);
    return min;
  }
  return value;
}

function flag(record: Record<string, unknown>, field: string, problems: string[]): boolean {
  const value = record[field] ?? false;
  if (typeof value !== 'boolean') problems.push(`${field} must be true or false`);
  return value === true;
}

function pair(record: Record<string, unknown>, names: readonly string[], problems: string[]): { from: string; to: string } {
  const from = name(record, 'from', names, problems);
  const to = name(record, 'to', names, problems);
  if (from && from === to) problems.push(`from and to are both ${from}: a fault acts between two different names`);
  return { from, to };
}

function result<T>(value: T, problems: string[]): Parsed<T> {
  return problems.length > 0 ? { ok: false, problems } : { ok: true, value };
}

// {"from","to","ms","jitterMs"?,"bidirectional"?}
export function parseLatency(body: unknown, names: readonly string[]): Parsed<LatencyDraft> {
  const problems: string[] = [];
  const record = objectBody(body, ['from', 'to', 'ms', 'jitterMs', 'bidirectional'], problems);
  const { from, to } = pair(record, names, problems);
  const ms = integer(record, 'ms', undefined, 1, limits.latencyMsMax, problems);
  const jitterMs = integer(record, 'jitterMs', 0, 0, limits.latencyMsMax, problems);
  if (ms + jitterMs > limits.latencyMsMax) problems.push(`ms + jitterMs must not exceed ${limits.latencyMsMax}`);
  const bidirectional = flag(record, 'bidirectional', problems);
  return result({ kind: 'latency' as const, from, to, ms, jitterMs, bidirectional }, problems);
}

// {"from","to","rate","bidirectional"?}
export function parseLoss(body: unknown, names: readonly string[]): Parsed<LossDraft> {
  const problems: string[] = [];
  const record = objectBody(body, ['from', 'to', 'rate', 'bidirectional'], problems);
  const { from, to } = pair(record, names, problems);
  const rate = record.rate;
  if (typeof rate !== 'number' || !Number.isFinite(rate) || rate < 0 || rate > 1) {
    problems.push(`rate must be a number from 0 to 1 (the share of messages lost)${rate === undefined ? '' : ` (got ${JSON.stringify(rate)})`}`);
  }
  const bidirectional = flag(record, 'bidirectional', problems);
  return result({ kind: 'loss' as const, from, to, rate: typeof rate === 'number' ? rate : 0, bidirectional }, problems);
}

// {"groups":[[...],[...]]} | {"isolate":name} | {"from","to","bidirectional"?}, and "mode"?
export function parsePartition(body: unknown, names: readonly string[]): Parsed<PartitionDraft> {
  const problems: string[] = [];
  const record = objectBody(body, ['groups', 'isolate', 'from', 'to', 'bidirectional', 'mode'], problems);
  const mode = record.mode ?? 'drop';
  if (mode !== 'drop' && mode !== 'reject') problems.push(`mode ${JSON.stringify(mode)} must be one of ${PARTITION_MODES.join(', ')}`);
  const shapes = ['groups', 'isolate', 'from'].filter((k) => record[k] !== undefined || (k === 'from' && record.to !== undefined));
  const draft: PartitionDraft = { kind: 'partition', mode: mode as PartitionMode };
  if (shapes.length !== 1) {
    problems.push('give exactly one of: "groups" (lists of names), "isolate" (one name), or "from" and "to"');
    return result(draft, problems);
  }
  if (shapes[0] === 'groups') draft.groups = groups(record.groups, names, problems);
  else if (shapes[0] === 'isolate') draft.isolate = name(record, 'isolate', names, problems);
  else Object.assign(draft, pair(record, names, problems), { bidirectional: flag(record, 'bidirectional', problems) });
  if (shapes[0] !== 'from' && record.bidirectional !== undefined) problems.push('bidirectional goes with from and to; groups and isolate cut both ways already');
  return result(draft, problems);
}

function groups(value: unknown, names: readonly string[], problems: string[]): string[][] {
  const shape = `groups must be two or more non-empty lists of names, e.g. [["primary"],["mirror","replica-1"]] (names: ${names.join(', ')})`;
  if (!Array.isArray(value) || value.length < 2 || !value.every((g) => Array.isArray(g) && g.length > 0)) {
    problems.push(shape);
    return [];
  }
  const seen = new Set<string>();
  for (const member of (value as unknown[][]).flat()) {
    if (typeof member !== 'string' || !names.includes(member)) problems.push(`${JSON.stringify(member)} in groups is not a name (names: ${names.join(', ')})`);
    else if (seen.has(member)) problems.push(`${member} is in more than one group`);
    else seen.add(member);
  }
  return value as string[][];
}

// {"ms"}: how long a node's event loop stops.
export function parsePause(body: unknown): Parsed<number> {
  const problems: string[] = [];
  const record = objectBody(body, ['ms'], problems);
  const ms = integer(record, 'ms', undefined, 1, limits.pauseMsMax, problems);
  return result(ms, problems);
}
