// Goal: the pure rule matching the link layer relies on — which rules act on traffic from A to B
// (directed, bidirectional, groups, isolate), the verdict for one message (reject before drop
// before loss before latency; latencies add up; jitter stays within bounds), the connect verdict
// that ignores loss, the rules that touch a node, descriptions, the table hash, and the shape check
// a node applies to a table it receives.

import { describe, expect, it } from 'vitest';
import {
  connectVerdict,
  describeRule,
  type FaultRule,
  linkVerdict,
  ruleApplies,
  rulesTouching,
  ruleTableHash,
  ruleTableProblems,
} from '../../../shared/fault-rules.ts';

let nextId = 1;
function rule(fields: Record<string, unknown>): FaultRule {
  const draft = { bidirectional: false, jitterMs: 0, ...fields } as any;
  if (draft.kind === 'partition') {
    delete draft.jitterMs;
    if (draft.from === undefined) delete draft.bidirectional;
  }
  return { ...draft, id: `f${nextId++}`, createdAt: '2024-01-01T00:00:00.000Z', description: describeRule(draft) };
}

const never = () => 0.999_999;
const always = () => 0;

describe('ruleApplies', () => {
  it('directed rules act only from `from` to `to`, both ways when bidirectional', () => {
    const oneWay = rule({ kind: 'latency', from: 'primary', to: 'mirror', ms: 100 });
    expect(ruleApplies(oneWay, 'primary', 'mirror')).toBe(true);
    expect(ruleApplies(oneWay, 'mirror', 'primary')).toBe(false);
    expect(ruleApplies(oneWay, 'primary', 'replica-1')).toBe(false);
    const both = rule({ kind: 'loss', from: 'primary', to: 'mirror', rate: 1, bidirectional: true });
    expect(ruleApplies(both, 'mirror', 'primary')).toBe(true);
    expect(ruleApplies(both, 'primary', 'mirror')).toBe(true);
  });

  it('groups cut traffic between groups both ways; names in no group and within a group are untouched', () => {
    const groups = rule({ kind: 'partition', mode: 'drop', groups: [['primary'], ['mirror', 'control']] });
    expect(ruleApplies(groups, 'primary', 'mirror')).toBe(true);
    expect(ruleApplies(groups, 'control', 'primary')).toBe(true);
    expect(ruleApplies(groups, 'mirror', 'control')).toBe(false);
    expect(ruleApplies(groups, 'primary', 'replica-1')).toBe(false);
    expect(ruleApplies(groups, 'primary', 'primary')).toBe(false);
  });

  it('isolate cuts one name from everyone, and nothing else', () => {
    const isolate = rule({ kind: 'partition', mode: 'reject', isolate: 'replica-1' });
    expect(ruleApplies(isolate, 'replica-1', 'primary')).toBe(true);
    expect(ruleApplies(isolate, 'control', 'replica-1')).toBe(true);
    expect(ruleApplies(isolate, 'primary', 'mirror')).toBe(false);
  });

  it('a directed partition acts one way unless bidirectional', () => {
    const cut = rule({ kind: 'partition', mode: 'drop', from: 'primary', to: 'control' });
    expect(ruleApplies(cut, 'primary', 'control')).toBe(true);
    expect(ruleApplies(cut, 'control', 'primary')).toBe(false);
  });
});

describe('linkVerdict', () => {
  it('delivers at once when no rule matches', () => {
    expect(linkVerdict([], 'primary', 'mirror', always)).toEqual({ action: 'deliver', delayMs: 0 });
  });

  it('reject wins over drop, drop over loss, loss over latency', () => {
    const latency = rule({ kind: 'latency', from: 'primary', to: 'mirror', ms: 50 });
    const loss = rule({ kind: 'loss', from: 'primary', to: 'mirror', rate: 1 });
    const drop = rule({ kind: 'partition', mode: 'drop', isolate: 'mirror' });
    const reject = rule({ kind: 'partition', mode: 'reject', groups: [['primary'], ['mirror']] });
    expect(linkVerdict([latency, loss, drop, reject], 'primary', 'mirror', never)).toEqual({ action: 'reject', ruleId: reject.id });
    expect(linkVerdict([latency, loss, drop], 'primary', 'mirror', never)).toEqual({ action: 'drop', ruleId: drop.id });
    expect(linkVerdict([latency, loss], 'primary', 'mirror', never)).toEqual({ action: 'lose', ruleId: loss.id });
    expect(linkVerdict([latency], 'primary', 'mirror', never).action).toBe('deliver');
  });

  it('loss draws once per message against its rate', () => {
    const half = rule({ kind: 'loss', from: 'primary', to: 'replica-1', rate: 0.5 });
    expect(linkVerdict([half], 'primary', 'replica-1', () => 0.49).action).toBe('lose');
    expect(linkVerdict([half], 'primary', 'replica-1', () => 0.5).action).toBe('deliver');
    const none = rule({ kind: 'loss', from: 'primary', to: 'replica-1', rate: 0 });
    expect(linkVerdict([none], 'primary', 'replica-1', always).action).toBe('deliver');
  });

  it('latencies add up; jitter stays within ±jitterMs and never goes below zero', () => {
    const a = rule({ kind: 'latency', from: 'primary', to: 'mirror', ms: 100, jitterMs: 20 });
    const b = rule({ kind: 'latency', from: 'mirror', to: 'primary', ms: 50, bidirectional: true });
    expect(linkVerdict([a, b], 'primary', 'mirror', () => 0.5)).toEqual({ action: 'deliver', delayMs: 150 });
    expect(linkVerdict([a], 'primary', 'mirror', () => 0)).toEqual({ action: 'deliver', delayMs: 80 });
    expect(linkVerdict([a], 'primary', 'mirror', () => 0.999_999).action === 'deliver').toBe(true);
    const wide = rule({ kind: 'latency', from: 'primary', to: 'mirror', ms: 10, jitterMs: 100 });
    expect(linkVerdict([wide], 'primary', 'mirror', () => 0)).toEqual({ action: 'deliver', delayMs: 0 });
  });

  it('connects ignore loss (TCP retransmits a SYN) but not partitions or latency', () => {
    const loss = rule({ kind: 'loss', from: 'replica-1', to: 'primary', rate: 1 });
    const latency = rule({ kind: 'latency', from: 'replica-1', to: 'primary', ms: 30 });
    expect(connectVerdict([loss, latency], 'replica-1', 'primary', always)).toEqual({ action: 'deliver', delayMs: 30 });
    const cut = rule({ kind: 'partition', mode: 'drop', isolate: 'primary' });
    expect(connectVerdict([loss, cut], 'replica-1', 'primary', always)).toEqual({ action: 'drop', ruleId: cut.id });
  });
});

describe('rulesTouching, descriptions, hash and shape', () => {
  it('lists the rules that can act on a name\'s traffic', () => {
    const latency = rule({ kind: 'latency', from: 'primary', to: 'mirror', ms: 5 });
    const groups = rule({ kind: 'partition', mode: 'drop', groups: [['replica-1'], ['primary']] });
    const isolate = rule({ kind: 'partition', mode: 'drop', isolate: 'replica-2' });
    const all = [latency, groups, isolate];
    expect(rulesTouching(all, 'mirror').map((r) => r.id)).toEqual([latency.id, isolate.id]);
    expect(rulesTouching(all, 'replica-1').map((r) => r.id)).toEqual([groups.id, isolate.id]);
    expect(rulesTouching(all, 'primary').map((r) => r.id)).toEqual([latency.id, groups.id, isolate.id]);
  });

  it('describes rules for people', () => {
    expect(describeRule({ kind: 'latency', from: 'primary', to: 'mirror', ms: 200, jitterMs: 20, bidirectional: false })).toBe('200±20 ms from primary to mirror');
    expect(describeRule({ kind: 'latency', from: 'primary', to: 'mirror', ms: 200, jitterMs: 0, bidirectional: true })).toBe('200 ms between primary and mirror');
    expect(describeRule({ kind: 'loss', from: 'primary', to: 'replica-1', rate: 0.25, bidirectional: false })).toBe('25% loss from primary to replica-1');
    expect(describeRule({ kind: 'partition', mode: 'drop', isolate: 'primary' })).toBe('primary isolated (traffic dropped)');
    expect(describeRule({ kind: 'partition', mode: 'reject', groups: [['primary'], ['mirror', 'control']] })).toBe('partition primary | mirror, control (connections reset)');
  });

  it('hashes a table independently of rule order, and differently for different tables', () => {
    const a = rule({ kind: 'latency', from: 'primary', to: 'mirror', ms: 5 });
    const b = rule({ kind: 'loss', from: 'primary', to: 'mirror', rate: 0.5 });
    expect(ruleTableHash([a, b])).toBe(ruleTableHash([b, a]));
    expect(ruleTableHash([a])).not.toBe(ruleTableHash([a, b]));
    expect(ruleTableHash([])).toMatch(/^[0-9a-f]{16}$/);
  });

  it('checks the shape of a received table', () => {
    const good = [rule({ kind: 'latency', from: 'primary', to: 'mirror', ms: 5 }), rule({ kind: 'partition', mode: 'drop', groups: [['a'], ['b']] })];
    expect(ruleTableProblems(good, 10)).toEqual([]);
    expect(ruleTableProblems('x', 10)).toEqual(['rules must be an array']);
    expect(ruleTableProblems(good, 1)).toEqual(['at most 1 rules']);
    expect(ruleTableProblems([{ ...good[0], ms: -1 }], 10)).toHaveLength(1);
    expect(ruleTableProblems([{ id: 'f1', createdAt: 'x', description: 'd', kind: 'partition', mode: 'drop', isolate: 'a', groups: [['a'], ['b']] }], 10)).toHaveLength(1);
    expect(ruleTableProblems([{ id: 'f1', createdAt: 'x', description: 'd', kind: 'fire' }], 10)).toEqual(['rules[0]: unknown kind "fire"']);
  });
});
