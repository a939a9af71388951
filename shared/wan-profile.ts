// The WAN profile (POST /faults/profile {"name":"wan"}): realistic one-way latencies between the
// regions the nodes stand in, as ordinary latency rules tagged with the profile. Pure: control
// builds the rules from it, and a data node reads from its rules which region it stands in, to
// simulate a client's distance (the x-client-region header; see clientRoundTripMs).

import type { FaultRule, LatencyRule } from './fault-rules.ts';

export const PROFILE_NAMES = ['wan'] as const;
export type ProfileName = (typeof PROFILE_NAMES)[number];

export const REGIONS = ['eu', 'us', 'ap'] as const;
export type Region = (typeof REGIONS)[number];

// Where each node of the default topology (and replica-3) stands when it reports no region.
export const DEFAULT_REGIONS: Readonly<Record<string, Region>> = { primary: 'eu', mirror: 'eu', 'replica-1': 'eu', 'replica-2': 'us', 'replica-3': 'ap' };
// A node in neither list stands with the primary.
export const FALLBACK_REGION: Region = 'eu';

// One-way latency in ms: inside a region (a data centre), across the Atlantic, Europe to Asia
// and across the Pacific.
const ONE_WAY_MS: Readonly<Record<string, number>> = { 'eu-eu': 0.5, 'us-us': 0.5, 'ap-ap': 0.5, 'eu-us': 40, 'ap-eu': 110, 'ap-us': 80 };
// Jitter, as a share of the latency.
const JITTER_SHARE = 0.1;

export function isRegion(value: unknown): value is Region {
  return typeof value === 'string' && (REGIONS as readonly string[]).includes(value);
}

export function oneWayMs(a: Region, b: Region): number {
  const key = [a, b].sort().join('-');
  const ms = ONE_WAY_MS[key];
  if (ms === undefined) throw new Error(`no latency between ${a} and ${b}`);
  return ms;
}

// ±10 %, to the hundredth of a ms (0.5 ms → 0.05 ms).
export function jitterMsOf(ms: number): number {
  return Math.round(ms * JITTER_SHARE * 100) / 100;
}

// One bidirectional rule per pair of data nodes, tagged with the profile and the two regions.
export function profileRules(name: ProfileName, regions: Readonly<Record<string, Region>>): Array<Omit<LatencyRule, 'id' | 'createdAt' | 'description'>> {
  const ids = Object.keys(regions);
  const rules: Array<Omit<LatencyRule, 'id' | 'createdAt' | 'description'>> = [];
  for (let i = 0; i < ids.length; i++) {
    for (let j = i + 1; j < ids.length; j++) {
      const from = ids[i] as string;
      const to = ids[j] as string;
      const pair: [Region, Region] = [regions[from] as Region, regions[to] as Region];
      const ms = oneWayMs(pair[0], pair[1]);
      rules.push({ kind: 'latency', from, to, ms, jitterMs: jitterMsOf(ms), bidirectional: true, profile: name, regions: pair });
    }
  }
  return rules;
}

// The region `nodeId` stands in under the active profile, read from the profile's rules that name
// it; null when no profile is active.
export function profileRegionOf(rules: readonly FaultRule[], nodeId: string): Region | null {
  for (const rule of rules) {
    if (rule.kind !== 'latency' || rule.profile === undefined || rule.regions === undefined) continue;
    const region = rule.from === nodeId ? rule.regions[0] : rule.to === nodeId ? rule.regions[1] : undefined;
    if (isRegion(region)) return region;
  }
  return null;
}

// The simulated round trip between a client in `clientRegion` and `nodeId`, with jitter: twice
// the one-way latency. Null when no profile is active (then nothing is simulated).
export function clientRoundTripMs(rules: readonly FaultRule[], nodeId: string, clientRegion: Region, random: () => number): number | null {
  const region = profileRegionOf(rules, nodeId);
  if (region === null) return null;
  const ms = oneWayMs(clientRegion, region);
  const jitter = jitterMsOf(ms);
  return 2 * Math.max(0, ms + (random() * 2 - 1) * jitter);
}
