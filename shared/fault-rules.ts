// Fault rules and the pure question the link layer asks for every message: what happens to a
// message from A to B under these rules? No I/O and no clock here; randomness comes in as a
// function, so the answers are testable. Control owns the rule table (it validates requests and
// gives each rule its id, creation time and description); every process holds a copy of it.
//
// Rules are directional: a rule from A to B acts on what A sends to B (requests, answers and
// WebSocket messages), so a 200 ms rule adds 200 ms to a round trip, not 400. `bidirectional`
// makes a directed rule act both ways. Partitions by groups or `isolate` are symmetric by nature.

import { createHash } from 'node:crypto';

export type PartitionMode = 'drop' | 'reject';

interface RuleBase {
  id: string;
  createdAt: string;
  description: string;
}

export interface LatencyRule extends RuleBase {
  kind: 'latency';
  from: string;
  to: string;
  // Fractional ms are fine (the WAN profile's 0.5 ms inside a region).
  ms: number;
  jitterMs: number;
  bidirectional: boolean;
  // Set on the rules of a profile (POST /faults/profile): its name, and the regions of `from`
  // and `to` it put them in. A second profile replaces every rule that carries one.
  profile?: string;
  regions?: [string, string];
}

export interface LossRule extends RuleBase {
  kind: 'loss';
  from: string;
  to: string;
  // 0..1: the share of messages that never arrive.
  rate: number;
  bidirectional: boolean;
}

// Exactly one of the three shapes: groups (no traffic between different groups; a name in no
// group is not cut off), isolate (one name cut off from everyone), or a directed from/to pair.
export interface PartitionRule extends RuleBase {
  kind: 'partition';
  mode: PartitionMode;
  groups?: string[][];
  isolate?: string;
  from?: string;
  to?: string;
  bidirectional?: boolean;
}

export type FaultRule = LatencyRule | LossRule | PartitionRule;
export type FaultKind = FaultRule['kind'];

// What the link does with one message from A to B.
export type LinkVerdict =
  | { action: 'deliver'; delayMs: number }
  // Partition, mode reject: the connection is reset at once.
  | { action: 'reject'; ruleId: string }
  // Partition, mode drop: the message waits as on a cut cable (the sender times out), but it
  // goes through if the partition heals first, as TCP would retransmit it.
  | { action: 'drop'; ruleId: string }
  // Loss: this message is gone for good.
  | { action: 'lose'; ruleId: string };

function directedMatch(from: string, to: string, ruleFrom: string, ruleTo: string, bidirectional: boolean): boolean {
  return (ruleFrom === from && ruleTo === to) || (bidirectional && ruleFrom === to && ruleTo === from);
}

// True when the rule acts on traffic sent by `from` to `to`. Traffic of a process to itself is
// never touched.
export function ruleApplies(rule: FaultRule, from: string, to: string): boolean {
  if (from === to) return false;
  if (rule.kind !== 'partition') return directedMatch(from, to, rule.from, rule.to, rule.bidirectional);
  if (rule.isolate !== undefined) return (rule.isolate === from) !== (rule.isolate === to);
  if (rule.groups !== undefined) {
    const groupOf = (name: string) => rule.groups?.findIndex((g) => g.includes(name)) ?? -1;
    const a = groupOf(from);
    const b = groupOf(to);
    return a >= 0 && b >= 0 && a !== b;
  }
  if (rule.from !== undefined && rule.to !== undefined) return directedMatch(from, to, rule.from, rule.to, rule.bidirectional ?? false);
  return false;
}

export function rulesBetween(rules: readonly FaultRule[], from: string, to: string): FaultRule[] {
  return rules.filter((rule) => ruleApplies(rule, from, to));
}

// Every name a rule mentions: a rule "touches" these processes (GET /status lists it there).
export function namesOf(rule: FaultRule): string[] {
  if (rule.kind !== 'partition') return [rule.from, rule.to];
  if (rule.isolate !== undefined) return [rule.isolate];
  if (rule.groups !== undefined) return rule.groups.flat();
  return [rule.from, rule.to].filter((n): n is string => n !== undefined);
}

// Rules that can act on traffic of `name` (GET /status of a node lists these). An isolate rule
// touches everyone: every process loses the isolated one.
export function rulesTouching(rules: readonly FaultRule[], name: string): FaultRule[] {
  return rules.filter((rule) => (rule.kind === 'partition' && rule.isolate !== undefined) || namesOf(rule).includes(name));
}

// The verdict for one message. Partitions come first (reject before drop: a reset is what the
// sender sees first), then loss (each rule draws once), then latency (the sum of every matching
// rule's delay, each with its own jitter, never below zero).
export function linkVerdict(rules: readonly FaultRule[], from: string, to: string, random: () => number): LinkVerdict {
  const matching = rulesBetween(rules, from, to);
  if (matching.length === 0) return { action: 'deliver', delayMs: 0 };
  const partitions = matching.filter((r): r is PartitionRule => r.kind === 'partition');
  const reject = partitions.find((r) => r.mode === 'reject');
  if (reject) return { action: 'reject', ruleId: reject.id };
  const drop = partitions[0];
  if (drop) return { action: 'drop', ruleId: drop.id };
  for (const rule of matching) {
    if (rule.kind === 'loss' && random() < rule.rate) return { action: 'lose', ruleId: rule.id };
  }
  let delayMs = 0;
  for (const rule of matching) {
    if (rule.kind === 'latency') delayMs += Math.max(0, rule.ms + (random() * 2 - 1) * rule.jitterMs);
  }
  return { action: 'deliver', delayMs };
}

// The verdict for opening a connection (or answering a WebSocket handshake) from `from` to `to`:
// partitions and latency act, loss does not (TCP retransmits a lost SYN: under loss a connection
// still opens, only later).
export function connectVerdict(rules: readonly FaultRule[], from: string, to: string, random: () => number): LinkVerdict {
  return linkVerdict(rules.filter((r) => r.kind !== 'loss'), from, to, random);
}

// "200±20 ms from primary to mirror": what a person reads in GET /faults, /status and the dashboard.
export function describeRule(rule: Omit<LatencyRule, 'id' | 'createdAt' | 'description'> | Omit<LossRule, 'id' | 'createdAt' | 'description'> | Omit<PartitionRule, 'id' | 'createdAt' | 'description'>): string {
  const direction = (from: string, to: string, both: boolean | undefined) => (both ? `between ${from} and ${to}` : `from ${from} to ${to}`);
  switch (rule.kind) {
    case 'latency': {
      const profile = rule.profile !== undefined ? ` (${rule.profile}${rule.regions ? `: ${rule.regions.join('↔')}` : ''})` : '';
      return `${rule.ms}${rule.jitterMs > 0 ? `±${rule.jitterMs}` : ''} ms ${direction(rule.from, rule.to, rule.bidirectional)}${profile}`;
    }
    case 'loss':
      return `${formatRate(rule.rate)} loss ${direction(rule.from, rule.to, rule.bidirectional)}`;
    case 'partition': {
      const how = rule.mode === 'reject' ? 'connections reset' : 'traffic dropped';
      if (rule.isolate !== undefined) return `${rule.isolate} isolated (${how})`;
      if (rule.groups !== undefined) return `partition ${rule.groups.map((g) => g.join(', ')).join(' | ')} (${how})`;
      return `partition ${direction(rule.from ?? '?', rule.to ?? '?', rule.bidirectional)} (${how})`;
    }
  }
}

function formatRate(rate: number): string {
  return `${Math.round(rate * 1000) / 10}%`;
}

// A short, stable fingerprint of a rule table. A node reports the hash of the table it holds in
// GET /status; control re-sends its table to a node whose hash differs (a node that restarted).
export function ruleTableHash(rules: readonly FaultRule[]): string {
  const canonical = JSON.stringify([...rules].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)));
  return createHash('sha256').update(canonical).digest('hex').slice(0, 16);
}

// Checks the shape of a rule table a node receives from control (PUT /internal/faults). Control
// validated every rule when it was created; this guards against a wrong sender or version skew.
// Returns the problems found; an empty list means the table is usable.
export function ruleTableProblems(value: unknown, rulesMax: number): string[] {
  if (!Array.isArray(value)) return ['rules must be an array'];
  if (value.length > rulesMax) return [`at most ${rulesMax} rules`];
  const problems: string[] = [];
  for (const [i, raw] of value.entries()) {
    const rule = raw as Partial<FaultRule> | null;
    const where = `rules[${i}]`;
    if (typeof rule !== 'object' || rule === null) {
      problems.push(`${where} is not an object`);
      continue;
    }
    if (typeof rule.id !== 'string' || typeof rule.description !== 'string' || typeof rule.createdAt !== 'string') {
      problems.push(`${where} lacks id, description or createdAt`);
      continue;
    }
    if (rule.kind === 'latency') {
      const tagOk = (rule.profile === undefined || isName(rule.profile)) && (rule.regions === undefined || (Array.isArray(rule.regions) && rule.regions.length === 2 && rule.regions.every(isName)));
      if (!isName(rule.from) || !isName(rule.to) || !isNonNegative(rule.ms) || !isNonNegative(rule.jitterMs) || !tagOk) problems.push(`${where}: bad latency rule`);
    } else if (rule.kind === 'loss') {
      if (!isName(rule.from) || !isName(rule.to) || typeof rule.rate !== 'number' || !(rule.rate >= 0 && rule.rate <= 1)) problems.push(`${where}: bad loss rule`);
    } else if (rule.kind === 'partition') {
      const shapes = [rule.groups !== undefined, rule.isolate !== undefined, rule.from !== undefined || rule.to !== undefined].filter(Boolean).length;
      const groupsOk = rule.groups === undefined || (Array.isArray(rule.groups) && rule.groups.every((g) => Array.isArray(g) && g.every(isName)));
      const pairOk = rule.from === undefined ? rule.to === undefined : isName(rule.from) && isName(rule.to);
      const isolateOk = rule.isolate === undefined || isName(rule.isolate);
      if (shapes !== 1 || !groupsOk || !pairOk || !isolateOk || (rule.mode !== 'drop' && rule.mode !== 'reject')) problems.push(`${where}: bad partition rule`);
    } else {
      problems.push(`${where}: unknown kind ${JSON.stringify((rule as { kind?: unknown }).kind)}`);
    }
  }
  return problems;
}

function isName(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0;
}

function isNonNegative(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0;
}
