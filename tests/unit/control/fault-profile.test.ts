// Goal: the WAN profile's pure parts — the one-way latencies between regions (symmetric, 0.5 ms
// inside one), one tagged bidirectional rule per pair of data nodes, the regions taken from the
// request, then the node's report, then the defaults; every problem of a bad request at once; and
// a node's simulated client round trip read from the rules it holds.

import { describe, expect, it } from 'vitest';
import { describeRule, type FaultRule, ruleTableProblems } from '../../../shared/fault-rules.ts';
import { clientRoundTripMs, jitterMsOf, oneWayMs, profileRegionOf, profileRules } from '../../../shared/wan-profile.ts';
import { parseProfile } from '../../../services/control/src/faults/fault-profile.ts';

const nodes = [{ id: 'primary', region: '' }, { id: 'mirror' }, { id: 'replica-1', region: 'eu' }, { id: 'replica-2', region: 'us' }, { id: 'replica-3', region: 'ap' }];

describe('WAN profile', () => {
  it('has symmetric one-way latencies and a 10 % jitter', () => {
    expect(oneWayMs('eu', 'eu')).toBe(0.5);
    expect([oneWayMs('eu', 'us'), oneWayMs('us', 'eu')]).toEqual([40, 40]);
    expect([oneWayMs('eu', 'ap'), oneWayMs('ap', 'eu')]).toEqual([110, 110]);
    expect([oneWayMs('us', 'ap'), oneWayMs('ap', 'us')]).toEqual([80, 80]);
    expect([jitterMsOf(0.5), jitterMsOf(40), jitterMsOf(110)]).toEqual([0.05, 4, 11]);
  });

  it('takes regions from the request, then the node, then the defaults', () => {
    const parsed = parseProfile({ name: 'wan', regions: { mirror: 'us' } }, nodes);
    if (!parsed.ok) throw new Error(parsed.problems.join('; '));
    expect(parsed.value.regions).toEqual({ primary: 'eu', mirror: 'us', 'replica-1': 'eu', 'replica-2': 'us', 'replica-3': 'ap' });
    expect(parsed.value.sources).toEqual({ primary: 'default', mirror: 'request', 'replica-1': 'reported', 'replica-2': 'reported', 'replica-3': 'reported' });
    const stray = parseProfile({ name: 'wan' }, [{ id: 'replica-9' }]);
    expect(stray.ok && stray.value.regions).toEqual({ 'replica-9': 'eu' });
  });

  it('lists every problem of a bad request', () => {
    const parsed = parseProfile({ name: 'lan', regions: { mars: 'us', mirror: 'moon' }, extra: true }, nodes);
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.problems).toHaveLength(4);
    expect(parsed.problems.join(' ')).toContain('names: wan');
    expect(parsed.problems.join(' ')).toContain('regions: eu, us, ap');
  });

  it('makes one tagged bidirectional rule per pair, which nodes accept and describe', () => {
    const drafts = profileRules('wan', { primary: 'eu', mirror: 'us', 'replica-3': 'ap' });
    expect(drafts).toEqual([
      { kind: 'latency', from: 'primary', to: 'mirror', ms: 40, jitterMs: 4, bidirectional: true, profile: 'wan', regions: ['eu', 'us'] },
      { kind: 'latency', from: 'primary', to: 'replica-3', ms: 110, jitterMs: 11, bidirectional: true, profile: 'wan', regions: ['eu', 'ap'] },
      { kind: 'latency', from: 'mirror', to: 'replica-3', ms: 80, jitterMs: 8, bidirectional: true, profile: 'wan', regions: ['us', 'ap'] },
    ]);
    const rules = drafts.map((d, i) => ({ ...d, id: `f${i + 1}`, createdAt: new Date(0).toISOString(), description: describeRule(d) })) as FaultRule[];
    expect(rules[0]?.description).toBe('40±4 ms between primary and mirror (wan: eu↔us)');
    expect(ruleTableProblems(rules, 100)).toEqual([]);
    expect(ruleTableProblems([{ ...rules[0], regions: ['eu'] }], 100)).toEqual(['rules[0]: bad latency rule']);
  });

  it('gives a node its profile region and a client round trip of twice the one-way latency', () => {
    const rules = profileRules('wan', { primary: 'eu', 'replica-2': 'us' }).map((d) => ({ ...d, id: 'f1', createdAt: '', description: '' })) as FaultRule[];
    expect(profileRegionOf(rules, 'replica-2')).toBe('us');
    expect(profileRegionOf(rules, 'replica-1')).toBeNull();
    expect(clientRoundTripMs(rules, 'replica-2', 'eu', () => 0.5)).toBe(80);
    expect(clientRoundTripMs(rules, 'replica-2', 'us', () => 0.5)).toBe(1);
    expect(clientRoundTripMs([], 'replica-2', 'eu', () => 0.5)).toBeNull();
  });
});
